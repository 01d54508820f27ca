#include "importer/registry/oci_archive.hpp"

#include "importer/registry/image_blobs.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <sys/stat.h>

#include <string_view>

namespace cdi {
namespace {

struct archive_closer {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using archive_ptr = std::unique_ptr<archive, archive_closer>;

std::string_view normalized(std::string_view p) {
    while (p.starts_with("./")) p.remove_prefix(2);
    return p;
}

// The data of the entry an archive is positioned at; owns the archive.
class archive_entry_source final : public source {
public:
    archive_entry_source(archive_ptr a, std::uint64_t size, std::string what)
        : a_(std::move(a)), size_(size), what_(std::move(what)) {}

    result<std::size_t> read(std::span<std::byte> buf) override {
        if (buf.empty()) return std::size_t{0};
        const la_ssize_t n = archive_read_data(a_.get(), buf.data(), buf.size());
        if (n < 0) return make_error(errc::bad_image, "damaged archive reading " + what_ + ": " + archive_error_string(a_.get()));
        return static_cast<std::size_t>(n);
    }
    std::optional<std::uint64_t> size_hint() const override { return size_; }

private:
    archive_ptr a_;
    std::uint64_t size_;
    std::string what_;
};

}  // namespace

result<std::unique_ptr<oci_archive>> oci_archive::open(const std::filesystem::path& file, std::string image_name) {
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT) return make_error(errc::bad_request, "oci-archive " + file.string() + " does not exist");
        return errno_error(errno, "oci-archive " + file.string());
    }
    if (!S_ISREG(st.st_mode)) return make_error(errc::bad_request, "oci-archive " + file.string() + " is not a regular file");
    return std::unique_ptr<oci_archive>(new oci_archive(file, std::move(image_name)));
}

std::string oci_archive::name() const { return "oci-archive:" + file_.string() + (image_.empty() ? "" : ":" + image_); }

result<source_ptr> oci_archive::open_entry(const std::string& path) const {
    archive_ptr a(archive_read_new());
    if (!a) return make_error(errc::io, "out of memory opening " + file_.string());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_none(a.get());
    archive_read_support_filter_gzip(a.get());
    // archive_read_open_filename seeks over the data of entries it skips.
    if (archive_read_open_filename(a.get(), file_.c_str(), 64 * 1024) != ARCHIVE_OK)
        return make_error(errc::bad_image, file_.string() + " is not a tar archive: " + archive_error_string(a.get()));
    for (;;) {
        archive_entry* e = nullptr;
        const int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) return make_error(errc::bad_image, name() + " has no " + path);
        if (r < ARCHIVE_WARN)
            return make_error(errc::bad_image, "damaged archive " + file_.string() + ": " + archive_error_string(a.get()));
        const char* entry_path = archive_entry_pathname(e);
        if (!entry_path || normalized(entry_path) != path) continue;
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr)
            return make_error(errc::bad_image, path + " in " + file_.string() + " is not a regular file");
        const auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        return source_ptr(std::make_unique<archive_entry_source>(std::move(a), size, path + " in " + file_.string()));
    }
}

result<std::string> oci_archive::read_entry(const std::string& path, std::size_t limit) const {
    auto src = open_entry(path);
    if (!src) return src.error();
    return read_small(**src, limit, path + " in " + file_.string());
}

result<manifest_bytes> oci_archive::top_manifest() {
    auto index_body = read_entry("index.json", max_manifest_bytes);
    if (!index_body) return index_body.error();
    auto parsed = parse_manifest(*index_body, media_types::oci_index);
    if (!parsed) return parsed.error();
    const auto* index = std::get_if<image_index>(&*parsed);
    if (!index) return make_error(errc::bad_image, "index.json of " + file_.string() + " is not an image index");
    const descriptor* chosen = nullptr;
    if (image_.empty()) {
        if (index->manifests.size() != 1)
            return make_error(errc::bad_image, file_.string() + " holds " + std::to_string(index->manifests.size()) +
                                                   " images; name one as oci-archive:<path>:<name>");
        chosen = &index->manifests.front();
    } else {
        for (const auto& d : index->manifests) {
            auto it = d.annotations.find("org.opencontainers.image.ref.name");
            if (it != d.annotations.end() && it->second == image_) chosen = &d;
        }
        if (!chosen) return make_error(errc::bad_image, "no image named \"" + image_ + "\" in " + file_.string());
    }
    return manifest(*chosen);
}

result<manifest_bytes> oci_archive::manifest(const descriptor& d) {
    auto spec = digest_spec(d.digest);
    if (!spec) return spec.error();
    auto body = read_entry("blobs/" + std::string(checksum_algorithm_name(spec->algorithm)) + "/" + spec->hex, max_manifest_bytes);
    if (!body) return body.error();
    return manifest_bytes{std::move(*body), d.media_type, d.digest};
}

result<source_ptr> oci_archive::open_blob(const descriptor& d) {
    auto spec = digest_spec(d.digest);
    if (!spec) return spec.error();
    return open_entry("blobs/" + std::string(checksum_algorithm_name(spec->algorithm)) + "/" + spec->hex);
}

}  // namespace cdi
