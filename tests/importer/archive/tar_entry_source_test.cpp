#include "importer/archive/tar_entry_source.hpp"

#include "support/hostile_tars.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

using test::bytes;
using test::must_run;
using test::read_file_bytes;
using test::scripted_source;
namespace fs = std::filesystem;

const char* const not_found = "no disk image found in tar";

bool contains_disk_img(std::string_view p) { return p.find("disk.img") != std::string_view::npos; }

tar_entry_source make(const fs::path& tar, std::size_t chunk = SIZE_MAX, std::size_t fail_at = 0) {
    return tar_entry_source(std::make_unique<scripted_source>(read_file_bytes(tar), chunk, fail_at),
                            contains_disk_img, not_found);
}

TEST(tar_entry_source, picks_the_first_matching_regular_file_after_other_entries) {
    test::temp_dir tmp;
    const fs::path src = tmp / "src";
    fs::create_directories(src / "dir");
    auto other = test::random_bytes(70000, 2);
    auto disk = test::random_bytes(300 * 1024, 3);
    test::write_file(src / "aaa.txt", other.data(), other.size());
    test::write_file(src / "dir" / "disk.img", disk.data(), disk.size());
    test::write_file(src / "zzz.txt", other.data(), 100);
    must_run("cd '" + src.string() + "' && tar -cf ../a.tar aaa.txt dir zzz.txt");

    auto s = make(tmp / "a.tar");
    EXPECT_FALSE(s.size_hint());
    auto out = test::drain(s);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, disk);
    EXPECT_EQ(s.size_hint(), disk.size());
    EXPECT_EQ(s.entry_path(), "dir/disk.img");
}

TEST(tar_entry_source, skips_matching_entries_that_are_not_regular_files) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar",
                     "dir('disk.img.d')\nsym('disk.img', '/etc/passwd')\nreg('x')\nhard('disk.img.h', 'x')\n"
                     "reg('real/disk.img', b'payload')");
    auto s = make(tmp / "a.tar");
    auto out = test::drain(s);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, test::to_bytes("payload"));
    EXPECT_EQ(s.entry_path(), "real/disk.img");
}

TEST(tar_entry_source, yields_the_holes_of_a_sparse_entry_as_zeros) {
    test::temp_dir tmp;
    test::make_sparse_file(tmp / "disk.img", 6 << 20, {4096, 2 << 20});
    must_run("tar -S -C '" + tmp.path().string() + "' -cf '" + (tmp / "a.tar").string() + "' disk.img");
    ASSERT_LT(fs::file_size(tmp / "a.tar"), 1u << 20);  // really stored sparse

    auto s = make(tmp / "a.tar");
    auto out = test::drain(s, 100000);  // not a multiple of the hole or block sizes
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, read_file_bytes(tmp / "disk.img"));
    EXPECT_EQ(s.size_hint(), std::uint64_t{6} << 20);
}

TEST(tar_entry_source, yields_a_pax_sparse_entry_with_a_trailing_hole) {
    test::temp_dir tmp;
    test::make_sparse_file(tmp / "disk.img", 3 << 20, {1 << 20});
    must_run("tar --format=pax -S -C '" + tmp.path().string() + "' -cf '" + (tmp / "a.tar").string() + "' disk.img");
    auto s = make(tmp / "a.tar");
    auto out = test::drain(s);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, read_file_bytes(tmp / "disk.img"));
}

TEST(tar_entry_source, reports_the_given_message_when_nothing_matches) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('a', b'x')\ndir('b')");
    auto s = make(tmp / "a.tar");
    auto out = test::drain(s);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::bad_image));
    EXPECT_EQ(out.error().context, not_found);
}

TEST(tar_entry_source, reads_one_byte_upstream_chunks) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('first', b'f' * 700)\nreg('disk.img', bytes(range(256)) * 9)\nreg('last', b'l')");
    auto s = make(tmp / "a.tar", 1);
    auto out = test::drain(s, 333);
    ASSERT_TRUE(out) << out.error().message();
    ASSERT_EQ(out->size(), 256u * 9);
    for (std::size_t i = 0; i < out->size(); ++i) ASSERT_EQ(static_cast<unsigned>((*out)[i]), i % 256) << i;
}

TEST(tar_entry_source, passes_upstream_faults_through_at_every_read) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('a', b'a' * 9000)\nreg('disk.img', b'd' * 9000)\nreg('z', b'z' * 9000)");
    const std::size_t reads = (fs::file_size(tmp / "a.tar") + 4095) / 4096 + 1;
    for (std::size_t n = 1; n <= reads; ++n) {
        auto s = make(tmp / "a.tar", 4096, n);
        auto out = test::drain(s);
        ASSERT_FALSE(out) << "fault at read " << n;
        EXPECT_TRUE(out.error().is(errc::io)) << out.error().message();
        EXPECT_EQ(out.error().context, "injected read fault");
    }
}

TEST(tar_entry_source, reports_truncation_inside_the_entry) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('disk.img', b'd' * 50000)");
    must_run("truncate -s 20000 '" + (tmp / "a.tar").string() + "'");
    auto s = make(tmp / "a.tar");
    auto out = test::drain(s);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::bad_image)) << out.error().message();  // a short archive in a whole stream
}

TEST(tar_entry_source, reports_a_truncated_tail_after_the_entry) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('disk.img', b'd' * 1000)\nreg('after', b'a' * 50000)");
    must_run("truncate -s 20000 '" + (tmp / "a.tar").string() + "'");
    auto s = make(tmp / "a.tar");
    auto out = test::drain(s);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::bad_image)) << out.error().message();  // a short archive in a whole stream
}

TEST(tar_entry_source, reads_the_upstream_to_its_end) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('disk.img', b'd' * 1000)");
    auto data = read_file_bytes(tmp / "a.tar");
    data.resize(data.size() + 100000);  // padding after the end-of-archive blocks is ignored, but read
    auto up = std::make_unique<scripted_source>(data, 4096);
    auto* raw = up.get();
    tar_entry_source s(std::move(up), contains_disk_img, not_found);
    auto out = test::drain(s);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(out->size(), 1000u);
    EXPECT_EQ(raw->reads(), (data.size() + 4095) / 4096 + 1);  // the last read returned 0
}

TEST(tar_entry_source, rejects_a_stream_that_is_not_a_tar) {
    auto s = tar_entry_source(std::make_unique<scripted_source>(test::random_bytes(20000, 9)), contains_disk_img,
                              not_found);
    auto out = test::drain(s);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::bad_image));
    EXPECT_EQ(out.error().context.rfind("not a tar archive: ", 0), 0u) << out.error().message();
}

}  // namespace
}  // namespace cdi
