#include "convert/qemu_img.hpp"

#include "cdi/unique_fd.hpp"
#include "convert/subprocess.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <charconv>
#include <spdlog/spdlog.h>
#include <vector>

namespace cdi {

namespace {

namespace fs = std::filesystem;

// Bounds for info and check on untrusted images (security.md 0.4; Nova uses the same AS and CPU limits).
constexpr std::uint64_t inspect_address_space = 1ULL << 30;
constexpr std::uint64_t inspect_cpu_seconds = 30;
constexpr std::chrono::seconds inspect_wall_timeout{30};
// check walks every metadata table: allow more than info on large images.
constexpr std::uint64_t check_cpu_seconds = 60;
constexpr std::chrono::seconds check_wall_timeout{120};
// resize and create only touch the file's size and allocation.
constexpr std::chrono::minutes resize_no_progress{10};

// With -t none, out-of-order writes and 16 coroutines keep the disk queue full: measured here on a 1 GiB
// qcow2 (512 MiB data) -> raw, 0.42 s vs 0.57 s for -t none alone (mean of 5). With writeback they
// did not help (page-cache flushing dominates), so they are used with -t none only.
constexpr std::array<std::string_view, 3> direct_io_flags = {"-W", "-m", "16"};

constexpr std::string_view unsupported_prealloc = "Unsupported preallocation mode";

// The formats CDI converts (contract 2.4); anything else never reaches argv.
constexpr std::array<std::string_view, 6> known_formats = {"raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx"};

result<void> check_format(std::string_view format) {
    for (auto f : known_formats) {
        if (f == format) return {};
    }
    return make_error(errc::bad_request, "qemu-img format \"" + std::string(format) + "\" is not supported");
}

// An absolute path: never starts with '-' and has no "proto:" prefix qemu could parse. Not normalised:
// "a/../b" through a symlink is not "b".
std::string local_path(const fs::path& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    if (ec || !abs.is_absolute()) abs = fs::path("/") / p;  // cwd unknown: still never an option or protocol
    return abs.string();
}

// The image to inspect or convert, as qemu-img is given it:
//   json:{"backing":null,"file":{"driver":"file","filename":"<absolute path>"}}
// "backing": null opens the image with BDRV_O_NO_BACKING, so a backing name in it (a qcow2 backing
// file, a VMDK parentFileNameHint) is reported by info but never opened, by any call (qemu-img check
// opens the whole chain otherwise); the "file" driver reads the name as a local path, never a
// protocol. The format still comes from -f.
std::string source_image(const fs::path& p) {
    boost::json::object file;
    file["driver"] = "file";
    file["filename"] = local_path(p);
    boost::json::object spec;
    spec["backing"] = nullptr;
    spec["file"] = std::move(file);
    return "json:" + boost::json::serialize(spec);
}

// qemu-img's own text can name host paths and addresses (a hostile image's references, our staged
// path): it goes to the log only, and the caller's message gets our words and the exit status.
void log_tool_stderr(std::string_view what, std::string_view format, const std::string& file, const subprocess_result& r) {
    spdlog::warn("qemu-img {} -f {} {}: {}: {}", what, format, file, describe_exit(r.exit_status),
                 r.stderr_text.empty() ? std::string_view("(no stderr)") : std::string_view(r.stderr_text));
}

bool says_no_space(std::string_view text) {
    return text.find("No space left on device") != std::string_view::npos ||
           text.find("Disk quota exceeded") != std::string_view::npos;
}

// "qemu-img <what> -f <format> failed: exit status N", classified (a full target is errc::no_space);
// qemu-img's stderr goes to the log only, as for info and check.
error tool_failure(std::string_view what, std::string_view format, const std::string& file, const subprocess_result& r) {
    log_tool_stderr(what, format, file, r);
    return make_error(says_no_space(r.stderr_text) ? errc::no_space : errc::convert_failed,
                      "qemu-img " + std::string(what) + " -f " + std::string(format) + " failed: " + describe_exit(r.exit_status));
}

std::optional<std::uint64_t> json_u64(const boost::json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return std::nullopt;
}

// The first line of text that starts with prefix, or empty.
std::string_view first_line_with(std::string_view text, std::string_view needle) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (line.find(needle) != std::string_view::npos) return line;
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return {};
}

subprocess_options inspect_options(std::uint64_t cpu_seconds, std::chrono::seconds wall) {
    subprocess_options o;
    o.address_space_limit = inspect_address_space;
    o.cpu_seconds_limit = cpu_seconds;
    o.wall_timeout = wall;
    return o;
}

}  // namespace

std::optional<double> qemu_img::parse_progress(std::string_view line) {
    // qemu-img -p prints "    (45.34/100%)"; CDI's regex is \((\d?\d\.\d\d)\/100%\), extended to 100.00.
    auto open = line.find('(');
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(open + 1);
    constexpr std::string_view tail = "/100%)";
    auto slash = rest.find(tail);
    if (slash == std::string_view::npos || slash < 4 || slash > 6) return std::nullopt;
    std::string_view num = rest.substr(0, slash);
    if (num[num.size() - 3] != '.') return std::nullopt;
    for (std::size_t i = 0; i < num.size(); ++i) {
        if (i != num.size() - 3 && (num[i] < '0' || num[i] > '9')) return std::nullopt;
    }
    double v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size() || v > 100.0) return std::nullopt;
    return v;
}

bool qemu_img::supports_direct_io(const fs::path& dst) {
    std::error_code ec;
    if (fs::exists(dst, ec)) {
        unique_fd fd(::open(dst.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
        return static_cast<bool>(fd);
    }
    unique_fd fd(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600));
    if (!fd) {
        // EINVAL is "no O_DIRECT here"; other errors leave qemu-img to report the real problem.
        return false;
    }
    (void)::unlink(dst.c_str());
    return true;
}

result<qemu_image_info> qemu_img::info(const fs::path& path, std::string_view format) const {
    if (auto ok = check_format(format); !ok) return ok.error();
    const std::string file = source_image(path);
    auto run = run_subprocess({binary_, "info", "-f", std::string(format), "--output=json", file},
                              inspect_options(inspect_cpu_seconds, inspect_wall_timeout));
    if (!run) return run.error();
    if (run->exit_status != 0) {
        log_tool_stderr("info", format, file, *run);
        return make_error(errc::corrupt_image, "qemu-img info -f " + std::string(format) + " could not open the image: " +
                                                   describe_exit(run->exit_status));
    }
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(run->stdout_text, ec);
    const auto* obj = ec ? nullptr : doc.if_object();
    if (!obj) return make_error(errc::convert_failed, "qemu-img info printed no JSON object for " + file);

    qemu_image_info out;
    const auto* fmt = obj->if_contains("format");
    auto vsize = json_u64(obj->if_contains("virtual-size"));
    if (!fmt || !fmt->is_string() || !vsize) {
        return make_error(errc::convert_failed, "qemu-img info for " + file + " lacks format or virtual-size");
    }
    out.format = std::string(fmt->as_string());
    out.virtual_size = *vsize;
    out.actual_size = json_u64(obj->if_contains("actual-size")).value_or(0);
    if (const auto* bf = obj->if_contains("backing-filename"); bf && bf->is_string()) {
        out.backing_filename = std::string(bf->as_string());
    }
    if (const auto* spec = obj->if_contains("format-specific"); spec && spec->is_object()) {
        if (const auto* data = spec->as_object().if_contains("data"); data && data->is_object()) {
            out.has_data_file = data->as_object().contains("data-file");
        }
    }
    return out;
}

result<void> qemu_img::check(const fs::path& path, std::string_view format) const {
    if (auto ok = check_format(format); !ok) return ok.error();
    const std::string file = source_image(path);
    auto run = run_subprocess({binary_, "check", "-f", std::string(format), file},
                              inspect_options(check_cpu_seconds, check_wall_timeout));
    if (!run) return run.error();
    // 0 clean, 3 leaked clusters only (space waste, data intact), 63 no check for this format (raw).
    if (run->exit_status == 0 || run->exit_status == 3 || run->exit_status == 63) return {};
    log_tool_stderr("check", format, file, *run);
    if (auto found = first_line_with(run->stdout_text, "errors were found"); !found.empty()) spdlog::warn("qemu-img check: {}", found);
    // 2: corruption found; 1: the image could not be opened or checked.
    const std::string what = run->exit_status == 2 ? " found the image corrupted: " : " could not check the image: ";
    return make_error(errc::corrupt_image, "qemu-img check -f " + std::string(format) + what + describe_exit(run->exit_status));
}

namespace {

// Runs each command line in turn, moving to the next only when qemu-img answers "Unsupported
// preallocation mode" (CDI's fallback order); any other failure, or the last one, is the result.
// format and file name the input in the log line of a failure.
result<void> run_with_prealloc_fallback(std::string_view what, std::string_view format, const std::string& file,
                                        const std::vector<std::vector<std::string>>& argvs, const subprocess_options& so) {
    for (std::size_t i = 0; i < argvs.size(); ++i) {
        auto run = run_subprocess(argvs[i], so);
        if (!run) return run.error();
        if (run->exit_status == 0) return {};
        const bool unsupported = run->stderr_text.find(unsupported_prealloc) != std::string::npos;
        if (!unsupported || i + 1 == argvs.size()) return tool_failure(what, format, file, *run);
    }
    return make_error(errc::convert_failed, "qemu-img " + std::string(what) + ": no command to run");
}

}  // namespace

result<bool> qemu_img::convert(const fs::path& src, std::string_view format, const fs::path& dst,
                               const convert_options& opts) const {
    if (auto ok = check_format(format); !ok) return ok.error();
    const std::string in = source_image(src);
    const std::string out = local_path(dst);
    const bool direct = opts.cache == cache_mode::try_none && supports_direct_io(out);

    // Each attempt's extra options, in CDI's order; the next is tried only on "Unsupported preallocation mode".
    std::vector<std::vector<std::string>> attempts;
    if (!opts.preallocate) {
        attempts.push_back({});
    } else if (opts.target_exists) {
        attempts.push_back({"-S", "0"});
    } else {
        attempts.push_back({"-o", "preallocation=falloc"});
        attempts.push_back({"-o", "preallocation=full"});
        attempts.push_back({"-S", "0"});
    }

    subprocess_options so;
    so.no_progress_timeout = opts.no_progress_timeout;
    so.cancel = opts.cancel;
    if (opts.on_progress) {
        so.on_stdout_line = [&opts](std::string_view line) {
            if (auto pct = parse_progress(line)) opts.on_progress(*pct);
        };
    }

    std::vector<std::vector<std::string>> argvs;
    for (const auto& extra : attempts) {
        std::vector<std::string> argv{binary_, "convert"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.insert(argv.end(), {"-f", std::string(format), "-O", "raw", "-t", direct ? "none" : "writeback", "-p"});
        if (direct) argv.insert(argv.end(), direct_io_flags.begin(), direct_io_flags.end());
        if (opts.target_exists) argv.emplace_back("-n");
        argv.push_back(in);
        argv.push_back(out);
        argvs.push_back(std::move(argv));
    }
    if (auto r = run_with_prealloc_fallback("convert", format, local_path(src), argvs, so); !r) return r.error();
    return opts.preallocate;
}

result<void> qemu_img::resize(const fs::path& path, std::uint64_t bytes, bool preallocate) const {
    std::vector<std::vector<std::string>> argvs;
    for (std::string_view mode : preallocate ? std::vector<std::string_view>{"--preallocation=falloc", "--preallocation=full"}
                                             : std::vector<std::string_view>{""}) {
        std::vector<std::string> argv{binary_, "resize", "-f", "raw"};
        if (!mode.empty()) argv.emplace_back(mode);
        argv.push_back(local_path(path));
        argv.push_back(std::to_string(bytes));
        argvs.push_back(std::move(argv));
    }
    subprocess_options so;
    so.no_progress_timeout = resize_no_progress;
    return run_with_prealloc_fallback("resize", "raw", local_path(path), argvs, so);
}

result<void> qemu_img::create_raw(const fs::path& path, std::uint64_t bytes, bool preallocate) const {
    std::vector<std::vector<std::string>> argvs;
    for (std::string_view mode : preallocate ? std::vector<std::string_view>{"preallocation=falloc", "preallocation=full"}
                                             : std::vector<std::string_view>{""}) {
        std::vector<std::string> argv{binary_, "create", "-f", "raw"};
        if (!mode.empty()) argv.insert(argv.end(), {"-o", std::string(mode)});
        argv.push_back(local_path(path));
        argv.push_back(std::to_string(bytes));
        argvs.push_back(std::move(argv));
    }
    subprocess_options so;
    so.no_progress_timeout = resize_no_progress;
    return run_with_prealloc_fallback("create", "raw", local_path(path), argvs, so);
}

}  // namespace cdi
