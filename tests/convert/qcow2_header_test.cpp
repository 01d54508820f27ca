// qcow2_header through inspect_image: security.md C1 (backing file), C2 (data file), C3 (json:
// backing), C7 (versions, feature bits), C8 (iotests-080 table and extension bombs), C10 (truncation).
#include "tests/convert/inspect_expect.hpp"

#include "convert/qcow2_header.hpp"

using cdi::errc;
using cdi::image_format;
using cdi::test::expect_refused;
using cdi::test::inspect;
namespace fs = std::filesystem;
namespace h = cdi::test::hostile;

namespace {

class qcow2_header : public cdi::test::inspector_fixture {};

TEST_F(qcow2_header, refuses_qcow2_backing_file_naming_it) {
    expect_refused(inspect(h::qcow2_backing(d(), "/etc/passwd"), image_format::qcow2), errc::unsafe_image,
                   "qcow2 backing file \"/etc/passwd\" is not allowed");
}

TEST_F(qcow2_header, refuses_qcow2_relative_backing_file) {
    expect_refused(inspect(h::qcow2_backing(d(), "../../etc/passwd"), image_format::qcow2), errc::unsafe_image,
                   "\"../../etc/passwd\"");
}

TEST_F(qcow2_header, refuses_qcow2_backing_file_with_nul_and_escapes_it) {
    const auto p = h::qcow2_backing(d(), "/etc/passwdXsuffix");
    const auto at = h::peek_be(p, 8, 8);
    h::poke(p, at + 11, std::string(1, '\0'));
    expect_refused(inspect(p, image_format::qcow2), errc::unsafe_image, "\"/etc/passwd\\x00suffix\"");
}

TEST_F(qcow2_header, refuses_qcow2_json_backing_file) {
    expect_refused(inspect(h::qcow2_json_backing(d()), image_format::qcow2), errc::unsafe_image,
                   "qcow2 backing file \"json:{\\x22driver\\x22:\\x22raw\\x22");
}

TEST_F(qcow2_header, refuses_qcow2_json_backing_with_nbd_driver) {
    const auto p = h::qcow2_backing(d(), "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"10809\"}}");
    expect_refused(inspect(p, image_format::qcow2), errc::unsafe_image, "nbd");
}

TEST_F(qcow2_header, truncates_a_long_backing_name_in_the_message) {
    const auto r = inspect(h::qcow2_backing(d(), "/" + std::string(900, 'a')), image_format::qcow2);
    expect_refused(r, errc::unsafe_image, "...");
    EXPECT_LT(r.error().context.size(), 300u);
}

TEST_F(qcow2_header, refuses_qcow2_external_data_file_naming_it) {
    expect_refused(inspect(h::qcow2_data_file(d(), "/etc/passwd"), image_format::qcow2), errc::unsafe_image,
                   "qcow2 external data file \"/etc/passwd\" is not allowed");
}

TEST_F(qcow2_header, refuses_qcow2_data_file_bit_without_extension) {
    expect_refused(inspect(h::qcow2_incompat(d(), 1u << 2), image_format::qcow2), errc::unsafe_image, "external data file");
}

TEST_F(qcow2_header, refuses_qcow2_unknown_incompatible_bits_naming_them) {
    expect_refused(inspect(h::qcow2_incompat(d(), (1ull << 5) | (1ull << 63)), image_format::qcow2), errc::unsafe_image,
                   "qcow2 unknown incompatible feature bits 5, 63 are set");
}

TEST_F(qcow2_header, refuses_qcow_version_1) {
    expect_refused(inspect(h::qcow2_version(d(), 1), image_format::qcow2), errc::bad_image, "qcow version 1 image is not supported");
}

TEST_F(qcow2_header, refuses_qcow2_version_4) {
    expect_refused(inspect(h::qcow2_version(d(), 4), image_format::qcow2), errc::bad_image, "qcow2 version 4 is not supported");
}

TEST_F(qcow2_header, refuses_dirty_qcow2) {
    expect_refused(inspect(h::qcow2_incompat(d(), 1), image_format::qcow2), errc::corrupt_image, "qcow2 image is marked dirty");
}

TEST_F(qcow2_header, refuses_corrupt_flagged_qcow2) {
    expect_refused(inspect(h::qcow2_incompat(d(), 2), image_format::qcow2), errc::corrupt_image, "qcow2 image is marked corrupt");
}

TEST_F(qcow2_header, refuses_encrypted_qcow2) {
    expect_refused(inspect(h::qcow2_crypt_method(d(), 2), image_format::qcow2), errc::bad_image, "qcow2 image is encrypted (crypt_method 2)");
}

TEST_F(qcow2_header, refuses_qcow2_l1_size_0x7fffffff) {
    expect_refused(inspect(h::qcow2_l1_size(d(), 0x7fffffff), image_format::qcow2), errc::corrupt_image,
                   "qcow2 L1 table of 2147483647 entries is too large");
}

TEST_F(qcow2_header, refuses_qcow2_l1_size_0xffffffff) {
    expect_refused(inspect(h::qcow2_l1_size(d(), 0xffffffff), image_format::qcow2), errc::corrupt_image,
                   "qcow2 L1 table of 4294967295 entries is too large");
}

TEST_F(qcow2_header, refuses_qcow2_l1_table_too_small_for_size) {
    const auto p = h::qcow2_v3(d());
    h::poke_be64(p, h::qcow2_size_at, 0x4000000000000000ull);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "is too small for virtual size");
}

TEST_F(qcow2_header, refuses_qcow2_l1_table_past_end_of_file) {
    const auto p = h::qcow2_l1_size(d(), 1u << 20);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 image is truncated: L1 table ends at");
}

TEST_F(qcow2_header, refuses_qcow2_huge_refcount_table) {
    expect_refused(inspect(h::qcow2_reftable_clusters(d(), 0x7fffffff), image_format::qcow2), errc::corrupt_image,
                   "qcow2 refcount table of 2147483647 clusters is too large");
}

TEST_F(qcow2_header, refuses_qcow2_without_refcount_table_like_qemu) {
    expect_refused(inspect(h::qcow2_reftable_clusters(d(), 0), image_format::qcow2), errc::corrupt_image, "qcow2 image has no refcount table");
}

TEST_F(qcow2_header, refuses_qcow2_huge_header_extension) {
    expect_refused(inspect(h::qcow2_huge_extension(d()), image_format::qcow2), errc::corrupt_image,
                   "qcow2 header extension 0x12345678 of 2147483647 bytes runs past the first cluster");
}

TEST_F(qcow2_header, accepts_qcow2_unknown_small_header_extension) {
    const auto p = h::qcow2_huge_extension(d(), 16);
    auto r = inspect(p, image_format::qcow2);
    ASSERT_TRUE(r.has_value()) << r.error().message();
}

TEST_F(qcow2_header, refuses_qcow2_bad_cluster_bits) {
    const auto p = h::qcow2_v3(d());
    h::poke_be32(p, 20, 30);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 cluster_bits 30 is outside 9..21");
}

TEST_F(qcow2_header, refuses_qcow2_many_snapshots) {
    const auto p = h::qcow2_v3(d());
    h::poke_be32(p, 60, 70000);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "70000 snapshots");
}

TEST_F(qcow2_header, refuses_qcow2_cut_in_half) {
    CDI_REQUIRE_TOOL("qemu-io");
    expect_refused(inspect(h::qcow2_truncated(d()), image_format::qcow2), errc::corrupt_image, "qcow2 image is truncated: data cluster at");
}

// Extended L2: qemu allocates by subcluster, so a write into the last cluster leaves a file that ends
// after the written subcluster. qemu reads only allocated subclusters: the image is whole.
TEST_F(qcow2_header, accepts_extended_l2_file_ending_after_the_last_allocated_subcluster) {
    CDI_REQUIRE_TOOL("qemu-io");
    const auto p = d() / "ext-short.qcow2";
    const std::string quoted = "'" + p.string() + "'";
    cdi::test::must_run("qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k " + quoted + " 8M");
    cdi::test::must_run("qemu-io -f qcow2 -c 'write -P 0x5a 7M 1k' " + quoted + " >/dev/null");
    ASSERT_NE(fs::file_size(p) % (64 * 1024), 0u);
    auto r = inspect(p, image_format::qcow2);
    EXPECT_TRUE(r) << r.error().message();
    // One byte less and the allocated subcluster itself is cut: refused.
    fs::resize_file(p, fs::file_size(p) - 1);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 image is truncated: data cluster at");
}

TEST_F(qcow2_header, refuses_qcow2_shorter_than_its_header) {
    const auto p = h::qcow2_v3(d());
    fs::resize_file(p, 50);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 header is truncated");
}

TEST_F(qcow2_header, refuses_end_extension_with_huge_length_like_qemu) {
    const auto p = h::qcow2_v3(d());
    const auto header_length = h::peek_be(p, h::qcow2_header_length_at, 4);
    h::poke(p, header_length, h::be(0, 4) + h::be(0xffff0000u, 4));
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 header extension 0x0 of 4294901760 bytes");
}

TEST_F(qcow2_header, rounds_an_odd_size_field_down_to_sectors_like_qemu) {
    const auto p = h::qcow2_v3(d());
    h::poke_be64(p, h::qcow2_size_at, (64u << 20) - 100);
    auto r = inspect(p, image_format::qcow2);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->virtual_size, h::qemu_virtual_size(p, "qcow2"));
    EXPECT_EQ(r->virtual_size, (64u << 20) - 512);
}

TEST_F(qcow2_header, refuses_snapshot_table_past_the_end_of_the_file) {
    const auto p = h::qcow2_v3(d());
    h::poke_be32(p, 60, 3);
    h::poke_be64(p, 64, 1u << 30);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 image is truncated: snapshot table ends at");
}

TEST_F(qcow2_header, refuses_snapshot_with_too_much_extra_data) {
    const auto p = h::with_data(d(), "s.qcow2", "qcow2");
    cdi::test::must_run("qemu-img snapshot -c first " + h::q(p));
    h::poke_be32(p, h::peek_be(p, 64, 8) + 36, 5000);
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 snapshot 0 has 5000 bytes of extra data");
}

// qemu's qcow2_validate_table runs on every open for the L1, refcount and snapshot tables whatever
// their size: each refusal below is checked against qemu-img first, then against us, both through the
// inspector (a staged file) and through the stream decoder's header check (no file: the fuzzing
// finding `snapshot-table-past-int64-max` was accepted there).
::testing::AssertionResult qemu_refuses(const fs::path& p, const std::string& words) {
    const auto r = cdi::test::run_command("qemu-img info -f qcow2 " + h::q(p) + " 2>&1");
    if (r.status != 0 && r.output.find(words) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "qemu-img: status " << r.status << ": " << r.output;
}

void expect_stream_head_refused(const fs::path& p, const std::string& needle) {
    const auto bytes = cdi::test::read_file_bytes(p);
    auto r = cdi::qcow2_header::read_stream_head(std::span(bytes).first(std::min<std::size_t>(bytes.size(), 65536)));
    ASSERT_FALSE(r.has_value()) << "the stream's header check accepted " << p;
    EXPECT_TRUE(r.error().is(errc::corrupt_image)) << r.error().message();
    EXPECT_NE(r.error().context.find(needle), std::string::npos) << r.error().message();
}

TEST_F(qcow2_header, refuses_a_misaligned_snapshot_table_even_with_no_snapshots_like_qemu) {
    const auto p = h::qcow2_v3(d());
    h::poke_be64(p, 64, 0x123);
    ASSERT_TRUE(qemu_refuses(p, "Snapshot table offset invalid"));
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 snapshot table offset 0x123 is not cluster-aligned");
    expect_stream_head_refused(p, "snapshot table offset 0x123 is not cluster-aligned");
}

TEST_F(qcow2_header, refuses_a_snapshot_table_ending_past_2_63_like_qemu) {
    const auto p = h::qcow2_v3(d());
    // Cluster-aligned (64 KiB), 64 KiB below 2^63, and 4096 snapshots of 40 bytes need 160 KiB.
    h::poke_be32(p, 60, 4096);
    h::poke_be64(p, 64, 0x7fffffffffff0000ull);
    ASSERT_TRUE(qemu_refuses(p, "Snapshot table offset invalid"));
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 snapshot table at 0x7fffffffffff0000 ends past 2^63");
    expect_stream_head_refused(p, "snapshot table at 0x7fffffffffff0000 ends past 2^63");
}

TEST_F(qcow2_header, refuses_a_misaligned_l1_table_of_an_empty_image_like_qemu) {
    const auto p = d() / "empty.qcow2";
    cdi::test::must_run("qemu-img create -q -f qcow2 " + h::q(p) + " 0");
    h::poke_be64(p, 40, 0x123);
    ASSERT_TRUE(qemu_refuses(p, "Active L1 table offset invalid"));
    expect_refused(inspect(p, image_format::qcow2), errc::corrupt_image, "qcow2 L1 table offset 0x123 is not cluster-aligned");
    expect_stream_head_refused(p, "L1 table offset 0x123 is not cluster-aligned");
}

}  // namespace
