// The cloner's framing (snappy_frame_writer through framed_pipe) decoded by our decoder
// (server/clone/snappy_frame_source) and by an independent one (tests/support/snappy_unframe.py:
// python3-snappy + python3-crc32c); the pipe's hand-off rules between its two threads.
#include "cloner/framed_pipe.hpp"
#include "cloner/snappy_frame_writer.hpp"
#include "server/clone/snappy_frame_source.hpp"
#include "snappy/snappy_framing.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace cdi {
namespace {

using test::bytes;

// Runs producer on its own thread and collects every slot the pipe hands out.
struct collected {
    bytes framed;
    std::optional<error> failure;
};

collected run_pipe(framed_pipe& pipe, const std::function<result<void>()>& producer) {
    std::thread t([&] { pipe.finish(producer()); });
    collected c;
    for (;;) {
        auto s = pipe.next();
        if (!s) {
            c.failure = s.error();
            break;
        }
        if (s->empty()) break;
        c.framed.insert(c.framed.end(), s->begin(), s->end());
        pipe.release();
    }
    t.join();
    return c;
}

// Frames data through a pipe of small slots, written in pieces of `piece` bytes.
bytes frame(const bytes& data, std::size_t piece) {
    framed_pipe pipe(2, 0);  // the smallest slot: one chunk each, so the producer waits on the sender
    auto c = run_pipe(pipe, [&]() -> result<void> {
        for (std::size_t at = 0; at < data.size(); at += piece) {
            const std::size_t n = std::min(piece, data.size() - at);
            if (auto r = pipe.write(std::span<const std::byte>(data).subspan(at, n)); !r) return r;
        }
        return {};
    });
    EXPECT_FALSE(c.failure) << c.failure->message();
    EXPECT_EQ(pipe.raw_bytes(), data.size());
    return c.framed;
}

result<bytes> decode(bytes framed) {
    snappy_frame_source src(std::make_unique<test::scripted_source>(std::move(framed), 70000));
    return test::drain(src);
}

bytes sample() {
    bytes data = test::random_bytes(300000, 3);     // incompressible
    data.resize(data.size() + 3 * 65536 + 17);      // zero runs, whole blocks and a tail
    for (std::size_t i = 0; i < 200000; ++i) data.push_back(static_cast<std::byte>((i / 100) & 0x7));  // compressible
    return data;
}

TEST(framed_pipe, what_it_frames_our_decoder_reads_back_whatever_the_write_sizes) {
    const bytes data = sample();
    for (std::size_t piece : {std::size_t{1} << 20, std::size_t{65536}, std::size_t{4097}, std::size_t{100}}) {
        auto out = decode(frame(data, piece));
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << "pieces of " << piece;
    }
}

TEST(framed_pipe, an_independent_decoder_reads_it_and_sees_both_chunk_kinds) {
    const bytes data = sample();
    const bytes framed = frame(data, 1 << 20);
    test::temp_dir dir;
    test::write_file(dir / "in.sz", framed.data(), framed.size());
    test::must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_unframe.py --stats " + test::q(dir / "stats") +
                   " < " + test::q(dir / "in.sz") + " > " + test::q(dir / "out"));
    EXPECT_EQ(test::read_file_bytes(dir / "out"), data);
    unsigned ids = 0, compressed = 0, uncompressed = 0;
    std::istringstream(test::slurp(dir / "stats")) >> ids >> compressed >> uncompressed;
    EXPECT_EQ(ids, 1u);
    EXPECT_GE(uncompressed, 4u);  // the random 300000 bytes gain nothing: stored
    EXPECT_GE(compressed, 4u);    // the zero blocks and the pattern compress
    EXPECT_EQ(compressed + uncompressed, (data.size() + 65535) / 65536);
}

TEST(framed_pipe, an_empty_stream_is_the_identifier_alone) {
    const bytes framed = frame({}, 1);
    const auto id = snappy_frame_writer::stream_identifier();
    EXPECT_EQ(framed, bytes(id.begin(), id.end()));
    auto out = decode(framed);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->empty());
}

TEST(framed_pipe, a_zero_block_costs_a_few_kib_on_the_wire) {
    const bytes zeros(64 << 20);
    const bytes framed = frame(zeros, 1 << 20);
    EXPECT_LT(framed.size(), zeros.size() / 16);
    auto out = decode(framed);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, zeros);
}

TEST(framed_pipe, a_producer_failure_arrives_after_what_was_framed_before_it) {
    framed_pipe pipe(2, 0);
    const bytes data = test::random_bytes(200000, 5);
    auto c = run_pipe(pipe, [&]() -> result<void> {
        if (auto r = pipe.write(data); !r) return r;
        return make_error(errc::io, "reading the volume failed");
    });
    ASSERT_TRUE(c.failure);
    EXPECT_TRUE(c.failure->is(errc::io));
    EXPECT_GT(c.framed.size(), 65536u);  // the full blocks went out; the partial one did not
}

TEST(framed_pipe, an_abort_releases_a_waiting_producer_with_canceled) {
    framed_pipe pipe(2, 0);
    std::optional<error> seen;
    std::thread t([&] {
        const bytes data(1 << 20, std::byte{1});
        auto r = pipe.write(data);  // more than the slots hold: waits for the sender
        if (!r) seen = r.error();
        pipe.finish(r);
    });
    auto first = pipe.next();
    ASSERT_TRUE(first);
    pipe.abort();
    t.join();
    ASSERT_TRUE(seen);
    EXPECT_TRUE(seen->is(errc::canceled));
}

TEST(snappy_frame_writer, all_zero_sees_a_single_set_byte_anywhere) {
    bytes b(100000);
    EXPECT_TRUE(all_zero(b));
    for (std::size_t at : {std::size_t{0}, std::size_t{15}, std::size_t{16}, std::size_t{65535}, b.size() - 1}) {
        b[at] = std::byte{1};
        EXPECT_FALSE(all_zero(b)) << at;
        b[at] = std::byte{0};
    }
    EXPECT_TRUE(all_zero(std::span<const std::byte>(b.data(), 3)));
}

}  // namespace
}  // namespace cdi
