#pragma once
// The stream-order decoders against `qemu-img convert` (convert/qcow2_stream_decoder,
// vmdk_stream_decoder): for an input the decoder accepts whole, qemu-img must convert the same bytes to
// the same raw disk; an input it refuses ends there (qemu-img runs only on accepted inputs). Virtual
// sizes above 64 MiB are left to the unit tests: the harness keeps the disk in memory.
#include "fuzz/fuzz_support.hpp"
#include "importer/stages/memory_source.hpp"

#include <fstream>
#include <iterator>

namespace cdi::fuzz {

inline constexpr std::uint64_t max_differential_disk = 64ull << 20;

template <class Decoder>
void differential(std::span<const std::byte> image, std::string_view qemu_format) {
    memory_source src(image);
    auto d = Decoder::start(src);
    if (!d || d->virtual_size() > max_differential_disk) return;
    memory_output out(d->virtual_size());
    if (!d->run(out)) return;

    const auto in = scratch_dir() / "stream.in";
    const auto raw = scratch_dir() / "stream.raw";
    {
        std::ofstream f(in, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
        check(bool(f), "cannot write the image file");
    }
    std::error_code ec;
    std::filesystem::remove(raw, ec);
    const auto r = run_command("timeout 60 qemu-img convert -f " + std::string(qemu_format) + " -O raw '" + in.string() +
                               "' '" + raw.string() + "' 2>&1");
    check(r.status == 0, "the decoder accepted an image qemu-img refuses: " + r.out);
    std::ifstream f(raw, std::ios::binary);
    const std::vector<char> theirs{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    check(theirs.size() == out.bytes().size(), "qemu-img converts to another size: " + std::to_string(theirs.size()) +
                                                   " against " + std::to_string(out.bytes().size()));
    check(std::equal(theirs.begin(), theirs.end(), reinterpret_cast<const char*>(out.bytes().data())),
          "the decoder's disk differs from qemu-img's");
}

}  // namespace cdi::fuzz
