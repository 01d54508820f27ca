// importer/import_outcome: each outcome's exit status and termination message (contract 1.4),
// decided on error classes; the integration tests (cdi_importer_test) pin the same texts end to end.
#include "importer/import_outcome.hpp"

#include "convert/qemu_img.hpp"
#include "support/log_capture.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;

class import_outcome_test : public ::testing::Test {
protected:
    import_outcome_test() {
        fs::create_directories(dir_ / "data");
        cfg_.source = "http";
        cfg_.termination_log = dir_ / "termination-log";
        cfg_.spec.data_dir = dir_ / "data";
        cfg_.spec.target = dir_ / "data" / "disk.img";
    }
    std::string message() const {
        auto v = test::read_file(dir_ / "termination-log");
        return {v.begin(), v.end()};
    }

    test::temp_dir dir_;
    importer_config cfg_;
    qemu_img qemu_;
    progress prog_;
    cancel_token cancel_;
};

TEST_F(import_outcome_test, a_source_that_cannot_be_built_is_unable_to_connect_naming_the_source_and_class) {
    EXPECT_EQ(source_unavailable(cfg_, make_error(errc::source_http, "404 Not Found")), 1);
    EXPECT_EQ(message(), "Unable to connect to http data source: E_SOURCE_HTTP: 404 Not Found");
}

TEST_F(import_outcome_test, a_failed_job_is_unable_to_process_data_with_its_class) {
    import_job job(cfg_.spec, qemu_, prog_, cancel_);
    EXPECT_EQ(job_outcome(cfg_, job, make_error(errc::unsafe_image, "backing file"), {}), 1);
    EXPECT_EQ(message(), "Unable to process data: E_UNSAFE_IMAGE: backing file");
}

TEST_F(import_outcome_test, scratch_space_required_is_import_complete_with_the_flag_and_exit_0_and_its_cause_logged) {
    import_job job(cfg_.spec, qemu_, prog_, cancel_);
    test::log_capture log("%v");
    EXPECT_EQ(job_outcome(cfg_, job, make_error(errc::scratch_required, "qcow2 tables name 9 data clusters"), {{"a", "b"}}), 0);
    EXPECT_EQ(message(), R"({"scratchSpaceRequired":true,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_NE(log.text().find("Scratch space required: E_SCRATCH_REQUIRED: qcow2 tables name 9 data clusters"), std::string::npos) << log.text();
}

TEST_F(import_outcome_test, a_checksum_mismatch_is_exit_0_with_the_message_the_controller_matches) {
    import_job job(cfg_.spec, qemu_, prog_, cancel_);
    EXPECT_EQ(job_outcome(cfg_, job, make_error(errc::checksum, "checksum mismatch"), {}), 0);
    EXPECT_NE(message().find("Unable to process data: E_CHECKSUM: checksum mismatch"), std::string::npos) << message();
}

TEST_F(import_outcome_test, a_finished_job_is_import_complete_with_its_labels) {
    import_job job(cfg_.spec, qemu_, prog_, cancel_);
    EXPECT_EQ(job_outcome(cfg_, job, job_result{.preallocation_applied = true}, {{"k", "v"}}), 0);
    EXPECT_EQ(message(), R"({"scratchSpaceRequired":false,"preallocationApplied":true,"labels":{"k":"v"},"message":"Import Complete"})");
}

TEST_F(import_outcome_test, a_blank_disk_that_failed_is_unable_to_create_blank_image_with_its_class) {
    EXPECT_EQ(blank_outcome(cfg_, make_error(errc::no_space, "no usable space")), 1);
    EXPECT_EQ(message(), "Unable to create blank image: E_NO_SPACE: no usable space");
}

TEST_F(import_outcome_test, a_blank_disk_made_is_import_complete_with_the_preallocation_flag) {
    EXPECT_EQ(blank_outcome(cfg_, job_result{.preallocation_applied = false}), 0);
    EXPECT_EQ(message(), R"({"preallocationApplied":false,"message":"Import Complete"})");
}

}  // namespace
}  // namespace cdi
