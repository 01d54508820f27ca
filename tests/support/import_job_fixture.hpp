#pragma once
// The directories and collaborators every import-job test needs: a target volume (data), scratch and
// a source folder under one temporary directory, the real qemu-img, and a job runner. Skips without
// qemu-img.
#include "importer/stages/file_source.hpp"
#include "importer/job/import_job.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

namespace cdi::test {

class import_job_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_tool("qemu-img")) GTEST_SKIP() << "needs qemu-img";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        fs::create_directories(src_);
    }

    job_spec spec(std::optional<std::uint64_t> requested = std::nullopt) const {
        job_spec s;
        s.target = data_ / "disk.img";
        s.data_dir = data_;
        s.scratch_dir = scratch_;
        s.requested_size = requested;
        return s;
    }

    // Runs one job on image; origin_path makes it a local-file import (converted in place).
    result<job_result> import(const fs::path& image, job_spec s, std::optional<fs::path> origin_path = std::nullopt) {
        auto origin = file_source::open(image);
        if (!origin) return origin.error();
        import_job job(std::move(s), qemu_, progress_, cancel_);
        return job.run(std::move(*origin), std::move(origin_path));
    }

    temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
    fs::path src_ = dir_ / "src";
    qemu_img qemu_;
    progress progress_;
    cancel_token cancel_;
};

}  // namespace cdi::test
