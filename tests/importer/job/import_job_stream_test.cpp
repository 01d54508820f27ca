// The import job's qcow2 road (issue 14): a qcow2 read from a stream is decoded as it arrives,
// straight into the target, with nothing in scratch; the target equals `qemu-img convert -O raw`
// byte for byte; the header is checked against the capacity before the body is read; failures leave
// no target; CDI_CONVERTER=qemu-img brings back the staged conversion.
#include "importer/job/import_job.hpp"

#include "importer/stages/memory_source.hpp"
#include "support/import_job_fixture.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

constexpr std::uint64_t mib = 1 << 20;

// A source that cancels the job (a SIGTERM mid-stream) once `limit` bytes went through it.
class cancel_after final : public source {
public:
    cancel_after(source_ptr inner, std::uint64_t limit, cancel_token& cancel) : inner_(std::move(inner)), limit_(limit), cancel_(cancel) {}
    result<std::size_t> read(std::span<std::byte> buf) override {
        auto n = inner_->read(buf);
        if (n && (served_ += *n) >= limit_) cancel_.cancel();
        return n;
    }

private:
    source_ptr inner_;
    std::uint64_t limit_;
    std::uint64_t served_ = 0;
    cancel_token& cancel_;
};

// Memory with its length known, counting what was read of it.
class counted_memory final : public source {
public:
    counted_memory(std::span<const std::byte> data, std::uint64_t& served) : data_(data), served_(served) {}
    result<std::size_t> read(std::span<std::byte> buf) override {
        const std::size_t n = std::min(buf.size(), data_.size() - at_);
        std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(at_), n, buf.begin());
        at_ += n;
        served_ += n;
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return data_.size(); }

private:
    std::span<const std::byte> data_;
    std::size_t at_ = 0;
    std::uint64_t& served_;
};

class import_job_stream_test : public test::import_job_fixture {
protected:
    void SetUp() override {
        import_job_fixture::SetUp();
        if (IsSkipped()) return;
        // 24 MiB: data, zero runs and a partial last cluster, through `qemu-io` so there is a real mix.
        must_run("qemu-img create -q -f raw " + q(src_ / "disk.raw") + " 24M");
        must_run("qemu-io -f raw -c 'write -P 0x5a 0 3M' -c 'write -P 0x11 9M 64K' -c 'write -P 0x77 20M 4M' " +
                 q(src_ / "disk.raw"));
    }

    fs::path make(const std::string& name, const std::string& opts) {
        auto image = src_ / name;
        must_run("qemu-img convert -q -f raw -O qcow2 " + opts + " " + q(src_ / "disk.raw") + " " + q(image));
        return image;
    }

    std::vector<char> reference(const fs::path& image) {
        auto out = dir_ / "reference.raw";
        must_run("qemu-img convert -f qcow2 -O raw " + q(image) + " " + q(out));
        auto bytes = test::read_file(out);
        fs::remove(out);
        return bytes;
    }

    job_spec no_scratch() const {
        auto s = spec();
        s.scratch_dir.reset();
        return s;
    }
};

TEST_F(import_job_stream_test, qcow2_of_every_shape_decodes_into_the_target_without_scratch) {
    struct shape { const char* name; const char* opts; };
    for (auto c : {shape{"v3", ""}, shape{"v2", "-o compat=0.10"}, shape{"zlib", "-c"},
                   shape{"zstd", "-c -o compression_type=zstd"}, shape{"c512", "-o cluster_size=512"},
                   shape{"c2m", "-o cluster_size=2M"}, shape{"extl2", "-o extended_l2=on"}}) {
        auto image = make(std::string(c.name) + ".qcow2", c.opts);
        auto r = import(image, no_scratch());
        ASSERT_TRUE(r) << c.name << ": " << r.error().message();
        EXPECT_EQ(r->format, image_format::qcow2);
        EXPECT_EQ(r->virtual_size, 24 * mib);
        EXPECT_EQ(test::read_file(data_ / "disk.img"), reference(image)) << c.name;
        EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 12 * mib) << c.name << ": zero runs must stay holes";
        struct stat st {};
        ASSERT_EQ(::stat((data_ / "disk.img").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0660u);
    }
    EXPECT_DOUBLE_EQ(progress_.percent(), 100.0);
    EXPECT_TRUE(progress_.validated());
}

TEST_F(import_job_stream_test, a_compressed_qcow2_stream_decodes_with_nothing_staged) {
    auto image = make("disk.qcow2", "");
    for (const char* wrap : {"gzip -1 -c", "xz -0 -T2 -c", "zstd -1 -q -c"}) {
        auto packed = src_ / "disk.qcow2.packed";
        must_run(std::string(wrap) + " " + q(image) + " > " + q(packed));
        auto r = import(packed, spec());
        ASSERT_TRUE(r) << wrap << ": " << r.error().message();
        EXPECT_EQ(test::read_file(data_ / "disk.img"), reference(image)) << wrap;
        EXPECT_TRUE(fs::is_empty(scratch_)) << wrap;
    }
}

TEST_F(import_job_stream_test, a_qcow2_larger_than_the_target_fails_at_its_header_with_cdis_words) {
    auto image = src_ / "big.qcow2";
    must_run("qemu-img create -q -f qcow2 " + q(image) + " 64M");
    // The origin holds only the header cluster: refusing must not need the rest of the body.
    auto all = test::read_file_bytes(image);
    all.resize(65536);
    import_job job(spec(16 * mib), qemu_, progress_, cancel_);
    auto r = job.run(std::make_unique<memory_source>(all));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_NE(r.error().message().find("is larger than the reported available storage"), std::string::npos) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(import_job_stream_test, a_raw_stream_of_known_length_larger_than_the_target_fails_before_its_body_is_read) {
    const test::bytes raw(24 * mib, std::byte{1});
    std::uint64_t served = 0;
    import_job job(spec(16 * mib), qemu_, progress_, cancel_);
    auto r = job.run(std::make_unique<counted_memory>(raw, served));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_NE(r.error().message().find("is larger than the reported available storage"), std::string::npos) << r.error().message();
    EXPECT_LE(served, 64u * 1024) << "only the sniff window may be read";
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(import_job_stream_test, a_qcow2_stream_cut_short_fails_truncated_and_removes_the_target) {
    auto image = make("disk.qcow2", "");
    auto all = test::read_file_bytes(image);
    for (std::size_t cut : {std::size_t{70000}, all.size() / 2, all.size() - 1}) {
        const test::bytes part(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut));
        import_job job(spec(), qemu_, progress_, cancel_);
        auto r = job.run(std::make_unique<memory_source>(part));
        ASSERT_FALSE(r) << "cut at " << cut;
        EXPECT_TRUE(r.error().is(errc::truncated)) << cut << ": " << r.error().message();
        EXPECT_FALSE(fs::exists(data_ / "disk.img")) << cut;
        EXPECT_TRUE(fs::is_empty(scratch_)) << cut;
    }
}

TEST_F(import_job_stream_test, a_qcow2_with_a_backing_file_is_refused_before_any_target_exists) {
    must_run("qemu-img create -q -f qcow2 -b " + q(src_ / "disk.raw") + " -F raw " + q(src_ / "backed.qcow2"));
    auto r = import(src_ / "backed.qcow2", spec());
    ASSERT_FALSE(r);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_NE(r.error().message().find("backing"), std::string::npos) << r.error().message();
}

TEST_F(import_job_stream_test, a_job_canceled_mid_stream_stops_and_leaves_nothing) {
    auto image = make("disk.qcow2", "");
    auto origin = file_source::open(image);
    ASSERT_TRUE(origin);
    import_job job(spec(), qemu_, progress_, cancel_);
    auto r = job.run(std::make_unique<cancel_after>(std::move(*origin), mib, cancel_));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::canceled)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(import_job_stream_test, preallocation_allocates_the_decoded_target) {
    auto image = make("disk.qcow2", "");
    auto s = spec();
    s.preallocate = true;
    auto r = import(image, s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->preallocation_applied);
    EXPECT_GE(test::allocated_bytes(data_ / "disk.img"), 24 * mib);
    EXPECT_EQ(test::read_file(data_ / "disk.img"), reference(image));
}

TEST_F(import_job_stream_test, the_qemu_img_switch_stages_the_qcow2_in_scratch_as_cdi_does) {
    auto image = make("disk.qcow2", "");
    auto s = no_scratch();
    s.convert_with = converter::qemu_img;
    auto r = import(image, s);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::scratch_required)) << r.error().message();
    s = spec();
    s.convert_with = converter::qemu_img;
    auto staged = import(image, s);
    ASSERT_TRUE(staged) << staged.error().message();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), reference(image));
}

TEST_F(import_job_stream_test, a_grown_qcow2_reaches_the_requested_size) {
    auto image = make("disk.qcow2", "");
    auto r = import(image, spec(32 * mib));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::file_size(data_ / "disk.img"), 32 * mib);
    auto content = test::read_file(data_ / "disk.img");
    auto ref = reference(image);
    EXPECT_TRUE(std::equal(ref.begin(), ref.end(), content.begin()));
}

// The L1 table moved past 40 MiB of data (512-byte clusters: growing the image to 1 GiB needs a
// 256 KiB L1, and no free run that long is left inside the file, so qemu puts it at the end): more
// than the decoder's 32 MiB memory window passes before any table names it.
fs::path l1_after_40_mib_of_data(const fs::path& dir) {
    const auto raw = dir / "big.raw", img = dir / "l1end.qcow2";
    must_run("head -c 40M /dev/urandom > " + q(raw));
    must_run("qemu-img convert -q -f raw -O qcow2 -o cluster_size=512 " + q(raw) + " " + q(img));
    must_run("qemu-img resize -q " + q(img) + " 1G");
    fs::remove(raw);
    return img;
}

TEST_F(import_job_stream_test, a_layout_holding_more_than_the_memory_window_spills_to_scratch_and_leaves_it_empty) {
    const auto image = l1_after_40_mib_of_data(src_);
    auto r = import(image, spec());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), reference(image));
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(import_job_stream_test, the_same_layout_without_scratch_asks_for_scratch_and_leaves_no_target) {
    const auto image = l1_after_40_mib_of_data(src_);
    auto r = import(image, no_scratch());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::scratch_required)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(import_job_stream_test, a_stream_optimized_vmdk_decodes_as_it_arrives_and_other_vmdks_are_staged) {
    const auto image = src_ / "disk.vmdk";
    must_run("qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized " + q(src_ / "disk.raw") + " " + q(image));
    const auto packed = src_ / "disk.vmdk.gz";
    must_run("gzip -1 -c " + q(image) + " > " + q(packed));
    auto ref = dir_ / "vmdk.raw";
    must_run("qemu-img convert -f vmdk -O raw " + q(image) + " " + q(ref));
    for (const auto& input : {image, packed}) {
        auto r = import(input, no_scratch());
        ASSERT_TRUE(r) << input << ": " << r.error().message();
        EXPECT_EQ(r->format, image_format::vmdk);
        EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(ref)) << input;
    }
    const auto sparse = src_ / "sparse.vmdk";
    must_run("qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse " + q(src_ / "disk.raw") + " " + q(sparse));
    auto staged = import(sparse, no_scratch());
    ASSERT_FALSE(staged);
    EXPECT_TRUE(staged.error().is(errc::scratch_required)) << staged.error().message();
}

TEST_F(import_job_stream_test, a_stream_optimized_vmdk_larger_than_the_target_fails_at_its_header) {
    const auto image = src_ / "big.vmdk";
    must_run("qemu-img create -q -f vmdk -o subformat=streamOptimized " + q(image) + " 64M");
    auto r = import(image, spec(16 * mib));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

}  // namespace
}  // namespace cdi
