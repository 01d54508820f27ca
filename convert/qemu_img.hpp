#pragma once
// The qemu-img calls of an import (contract 2.4-2.6, 2.9), with security.md's rules applied to each:
// - the format is ALWAYS pinned with -f (never probed), including calls on our own raw output;
// - file names are made absolute before they reach argv, so no name can read as an option ("-x"),
//   a protocol ("nbd:", "json:") or anything but a local path;
// - the source image of info, check and convert is passed as json:{"backing":null,"file":{"driver":
//   "file","filename":...}}: no call opens a backing chain (check would), whatever the image names;
// - info and check failures carry our words and the exit status, never qemu-img's text (it can name
//   host paths and addresses a hostile image made qemu try): that goes to the log;
// - info and check run under RLIMIT_AS 1 GiB and RLIMIT_CPU with a wall timeout (CVE-2015-5162);
//   convert runs under a no-progress watchdog instead (a large convert legitimately uses memory).
// The binary is injectable so tests can substitute fake qemu-img scripts.
#include "cdi/error.hpp"
#include "cdi/job.hpp"
#include "cdi/progress.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

struct qemu_image_info {
    std::string format;
    std::uint64_t virtual_size = 0;
    std::uint64_t actual_size = 0;
    std::string backing_filename;  // empty when none
    bool has_data_file = false;    // qcow2 external data file (format-specific "data-file")
};

struct convert_options {
    // writeback, or try_none: -t none when the target accepts O_DIRECT (probed), else writeback.
    cache_mode cache = cache_mode::writeback;
    // CDI's fallback order: -o preallocation=falloc, then =full, then -S 0, moving on only when
    // stderr says "Unsupported preallocation mode". With target_exists: -S 0 only (qemu-img rejects -o
    // with -n).
    bool preallocate = false;
    // The target is an existing block device: -n (do not create). qemu-img then writes zeros over
    // every hole, so stale device contents never show through.
    bool target_exists = false;
    std::function<void(double pct)> on_progress;  // from qemu-img -p lines "(NN.NN/100%)", 0..100
    std::chrono::milliseconds no_progress_timeout{std::chrono::minutes(10)};
    const cancel_token* cancel = nullptr;
};

class qemu_img {
public:
    explicit qemu_img(std::string binary = "qemu-img") : binary_(std::move(binary)) {}

    // qemu-img info -f <format> --output=json. Under RLIMIT_AS 1 GiB, RLIMIT_CPU 30 s and a 30 s wall
    // timeout. qemu-img refusing the file is errc::corrupt_image "qemu-img info -f <format> could not
    // open the image: exit status N" (qemu's stderr is logged).
    result<qemu_image_info> info(const std::filesystem::path& path, std::string_view format) const;

    // qemu-img check -f <format>. Exit 0 (clean), 3 (leaked clusters only: harmless) and 63 (the format
    // has no check, e.g. raw) pass; 1 (could not check) and 2 (corruption) are errc::corrupt_image
    // naming which, and the exit status (qemu's output is logged).
    result<void> check(const std::filesystem::path& path, std::string_view format) const;

    // qemu-img convert [prealloc] -f <format> -O raw -t <cache> -p [-W -m 16] [-n] src dst
    // (-W -m 16 with -t none only). Returns whether preallocation was applied. A file dst must not
    // exist (the caller removes it first); on failure dst is left as qemu-img left it, for the caller
    // to remove. Failure: errc::convert_failed "qemu-img convert -f <format> failed: exit status N"
    // (errc::no_space when qemu says the disk is full; qemu's stderr is logged, never in the
    // message, as for info and check: it names host paths); errc::timeout / errc::canceled from
    // the watchdog. Exit 0 is trusted as far as qemu-img goes: the caller checks the target's size
    // (a broken qemu-img may exit 0 without writing).
    result<bool> convert(const std::filesystem::path& src, std::string_view format, const std::filesystem::path& dst,
                         const convert_options& opts) const;

    // resize and create_raw fail like convert: "qemu-img resize -f raw failed: exit status N".
    // qemu-img resize -f raw [--preallocation=falloc, falling back to =full] path bytes (contract 2.6).
    result<void> resize(const std::filesystem::path& path, std::uint64_t bytes, bool preallocate) const;

    // qemu-img create -f raw [-o preallocation=falloc, falling back to =full] path bytes (contract 2.9).
    result<void> create_raw(const std::filesystem::path& path, std::uint64_t bytes, bool preallocate) const;

    // The percentage in a qemu-img -p line "    (45.34/100%)", or nullopt for any other line.
    static std::optional<double> parse_progress(std::string_view line);

    // Whether dst (or, when it does not exist, a probe file created next to it) opens with O_DIRECT.
    static bool supports_direct_io(const std::filesystem::path& dst);

private:
    std::string binary_;
};

}  // namespace cdi
