// Stage microbenches: each decoder and the sparse scan on in-memory data, and the target sink on
// /var/tmp with O_DIRECT and buffered I/O. The end-to-end comparison with peers is bench/run.sh.
//
// The payload is 64 MiB of dense data (no zero runs: decoders are timed on real work), three
// quarters file contents from /usr/share and /usr/lib, one quarter pseudo-random; it is compressed
// once at start-up with the same command-line tools and levels as bench/run.sh's inputs (but xz
// blocks of 4 MiB, so 64 MiB has 16 blocks to decode in parallel). The "MB/s" counter is decoded
// output in 10^6 bytes per second.
#include "cdi/sink.hpp"
#include "cdi/source.hpp"
#include "convert/aligned_buffer.hpp"
#include "convert/sparse_writer.hpp"
#include "convert/target_sink.hpp"
#include "importer/stages/gzip_source.hpp"
#include "importer/stages/memory_source.hpp"
#include "importer/stages/xz_source.hpp"
#if __has_include("importer/stages/zstd_source.hpp")
#include "importer/stages/zstd_source.hpp"
#define CDI_BENCH_HAVE_ZSTD 1
#endif

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace cdi;
namespace fs = std::filesystem;

constexpr std::size_t payload_size = 64u << 20;
constexpr std::size_t read_chunk = 4u << 20;  // the importer's copy buffer size

using bytes = std::vector<std::byte>;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "stages_bench: %s\n", what.c_str());
    std::exit(1);
}

bytes read_whole(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes b(c.size());
    std::memcpy(b.data(), c.data(), c.size());
    return b;
}

void write_whole(const fs::path& p, const bytes& b) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) die("cannot write " + p.string());
}

// 3 MiB of file contents, then 1 MiB pseudo-random, repeated: realistic ratios, no zero runs.
bytes make_payload() {
    bytes out;
    out.reserve(payload_size);
    std::mt19937_64 rng(42);
    std::vector<fs::path> files;
    for (const char* root : {"/usr/share", "/usr/lib"}) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            if (it->is_regular_file(ec) && !it->is_symlink(ec) && it->file_size(ec) > 0) files.push_back(it->path());
            if (files.size() > 20000) break;
        }
    }
    std::sort(files.begin(), files.end());
    std::size_t next_file = 0;
    while (out.size() < payload_size) {
        std::size_t want = std::min<std::size_t>(3u << 20, payload_size - out.size());
        std::size_t start = out.size();
        while (out.size() - start < want && next_file < files.size()) {
            bytes f = read_whole(files[next_file++]);
            std::size_t take = std::min(f.size(), want - (out.size() - start));
            out.insert(out.end(), f.begin(), f.begin() + static_cast<std::ptrdiff_t>(take));
        }
        std::size_t rnd = std::min<std::size_t>(1u << 20, payload_size - out.size());
        for (std::size_t i = 0; i < rnd; i += 8) {
            std::uint64_t v = rng();
            for (std::size_t k = 0; k < 8 && i + k < rnd; ++k) out.push_back(static_cast<std::byte>(v >> (8 * k)));
        }
        if (next_file >= files.size() && out.size() - start < want) next_file = 0;
    }
    out.resize(payload_size);
    return out;
}

struct corpus {
    bytes raw, gz, xz, zst;
};

// Compresses with the real tools through files in a scratch directory under /var/tmp.
const corpus& data() {
    static const corpus c = [] {
        corpus k;
        k.raw = make_payload();
        char tmpl[] = "/var/tmp/stages_bench.XXXXXX";
        if (!::mkdtemp(tmpl)) die("mkdtemp failed");
        fs::path dir(tmpl);
        write_whole(dir / "p", k.raw);
        auto run = [&](const std::string& cmd, const char* out) {
            std::string full = "cd " + dir.string() + " && " + cmd + " < p > " + out;
            if (std::system(full.c_str()) != 0) die("failed: " + cmd);
            return read_whole(dir / out);
        };
        k.gz = run("pigz -6 -p 2 -c", "p.gz");
        k.xz = run("xz -T2 -3 --block-size=4MiB -c", "p.xz");
        k.zst = run("zstd -q -3 -T2 -c", "p.zst");
        fs::remove_all(dir);
        std::fprintf(stderr, "payload %zu bytes: gz %zu, xz %zu, zst %zu\n", k.raw.size(), k.gz.size(),
                     k.xz.size(), k.zst.size());
        return k;
    }();
    return c;
}

source_ptr over(const bytes& b) { return std::make_unique<memory_source>(std::span<const std::byte>(b)); }

// Drains src into a reused buffer; returns the byte count (checked against the payload).
template <class Make>
void decode_bench(benchmark::State& state, Make make) {
    const corpus& c = data();
    aligned_buffer buf(read_chunk);
    std::uint64_t total = 0;
    for (auto _ : state) {
        source_ptr src = make(c);
        std::uint64_t n = 0;
        for (;;) {
            auto r = src->read(buf.span());
            if (!r) {
                state.SkipWithError(r.error().message().c_str());
                return;
            }
            if (*r == 0) break;
            n += *r;
        }
        if (n != c.raw.size()) {
            state.SkipWithError("decoded size differs from the payload");
            return;
        }
        total += n;
        benchmark::DoNotOptimize(buf.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(total));
    state.counters["MB/s"] = benchmark::Counter(static_cast<double>(total) / 1e6, benchmark::Counter::kIsRate);
}

void gzip_isal(benchmark::State& s) {
    decode_bench(s, [](const corpus& c) { return std::make_unique<gzip_source>(over(c.gz), gzip_backend::isal); });
}
void gzip_zlib(benchmark::State& s) {
    decode_bench(s, [](const corpus& c) { return std::make_unique<gzip_source>(over(c.gz), gzip_backend::zlib); });
}
void xz_threads(benchmark::State& s) {
    const auto threads = static_cast<std::uint32_t>(s.range(0));
    decode_bench(s, [threads](const corpus& c) {
        return std::make_unique<xz_source>(over(c.xz), xz_options{.threads = threads, .memlimit = 512ull << 20});
    });
}
#ifdef CDI_BENCH_HAVE_ZSTD
void zstd_decode(benchmark::State& s) {
    decode_bench(s, [](const corpus& c) { return std::make_unique<zstd_source>(over(c.zst)); });
}
#endif

// A sink that discards everything: the sparse scan alone is timed.
class null_sink final : public sink {
public:
    result<void> write(std::span<const std::byte> d) override {
        benchmark::DoNotOptimize(d.data());
        offset_ += d.size();
        return {};
    }
    result<void> zero(std::uint64_t len) override {
        offset_ += len;
        return {};
    }
    result<void> flush() override { return {}; }
    std::uint64_t offset() const override { return offset_; }

private:
    std::uint64_t offset_ = 0;
};

// range(0): 1 = the data payload, 0 = all zeros. Written in 4 MiB chunks, like the importer.
void sparse_scan(benchmark::State& state) {
    const bool dense = state.range(0) != 0;
    aligned_buffer in(payload_size);
    if (dense) std::memcpy(in.data(), data().raw.data(), payload_size);
    std::uint64_t total = 0;
    for (auto _ : state) {
        null_sink target;
        sparse_writer w(target);
        for (std::size_t off = 0; off < payload_size; off += read_chunk) {
            if (auto r = w.write(in.span().subspan(off, read_chunk)); !r) {
                state.SkipWithError(r.error().message().c_str());
                return;
            }
        }
        if (auto r = w.flush(); !r) {
            state.SkipWithError(r.error().message().c_str());
            return;
        }
        total += payload_size;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(total));
    state.counters["MB/s"] = benchmark::Counter(static_cast<double>(total) / 1e6, benchmark::Counter::kIsRate);
}

void drop_caches() {
    ::sync();
    // Needs root; without it the runs still compare, only less cold.
    int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        [[maybe_unused]] auto n = ::write(fd, "3", 1);
        ::close(fd);
    }
}

// 1 GiB of non-zero data through target_sink::create_file on /var/tmp, flush (fsync) included.
// range(0): 1 = O_DIRECT, 0 = buffered. Writes of 4 MiB from an aligned buffer, as the importer does.
constexpr std::uint64_t target_bytes = 1ull << 30;

void target_write(benchmark::State& state) {
    const bool direct = state.range(0) != 0;
    aligned_buffer buf(read_chunk);
    const bytes& payload = data().raw;
    std::memcpy(buf.data(), payload.data(), read_chunk);
    const fs::path path = "/var/tmp/stages_bench_target." + std::to_string(::getpid());
    std::uint64_t total = 0;
    for (auto _ : state) {
        state.PauseTiming();
        fs::remove(path);
        drop_caches();
        state.ResumeTiming();
        auto t = target_sink::create_file(path, target_options{.capacity = std::nullopt, .preallocate = false,
                                                                .direct_io = direct});
        if (!t) {
            state.SkipWithError(t.error().message().c_str());
            return;
        }
        if (direct && !(*t)->caps().direct_io) {
            state.SkipWithError("/var/tmp refused O_DIRECT");
            return;
        }
        for (std::uint64_t off = 0; off < target_bytes; off += read_chunk) {
            if (auto r = (*t)->write(buf.span()); !r) {
                state.SkipWithError(r.error().message().c_str());
                return;
            }
        }
        if (auto r = (*t)->flush(); !r) {
            state.SkipWithError(r.error().message().c_str());
            return;
        }
        total += target_bytes;
    }
    fs::remove(path);
    state.SetBytesProcessed(static_cast<std::int64_t>(total));
    state.counters["MB/s"] = benchmark::Counter(static_cast<double>(total) / 1e6, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(gzip_isal)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gzip_zlib)->Unit(benchmark::kMillisecond)->UseRealTime();
// 1 = one thread; 0 = all online cores. The CPU column counts every thread of the process (liblzma
// decodes in its own worker threads even with one), so CPU / Time is the parallelism achieved.
BENCHMARK(xz_threads)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
#ifdef CDI_BENCH_HAVE_ZSTD
BENCHMARK(zstd_decode)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif
BENCHMARK(sparse_scan)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
// Buffered first: performance.md notes a buffered run right after an O_DIRECT one is ~2x slower,
// so this order can only favour buffered. Three runs each; the page cache is dropped before each.
BENCHMARK(target_write)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
