#pragma once
// An OCI image layout inside a tar file (IMPORTER_ENDPOINT=oci-archive:/path[:name], contract
// section 5), read in place: every manifest or blob is one entry of the tar, found by walking the
// headers (libarchive skips entry data with lseek, so finding a blob costs the headers, not the
// bytes before it) and streamed from the file. Nothing is unpacked to disk, unlike containers/image
// which untars the whole archive to a temporary directory first.
//
// Contract: entries are looked up as "blobs/<alg>/<hex>" (a leading "./" ignored) and must be
// regular files; top_manifest() reads index.json and picks the entry whose
// org.opencontainers.image.ref.name annotation is the name given, or the only entry when no name is
// given. Errors: errc::bad_request (missing file), errc::bad_image (not a tar, no index.json, no such
// image or blob, an entry that is not a regular file), errc::io.
#include "importer/registry/image_source.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace cdi {

class oci_archive final : public image_source {
public:
    static result<std::unique_ptr<oci_archive>> open(const std::filesystem::path& file, std::string image_name);

    result<manifest_bytes> top_manifest() override;
    result<manifest_bytes> manifest(const descriptor& d) override;
    result<source_ptr> open_blob(const descriptor& d) override;
    std::string name() const override;

    // The data of one entry of the tar, streamed; errc::bad_image when there is none by that name.
    result<source_ptr> open_entry(const std::string& path) const;

private:
    oci_archive(std::filesystem::path file, std::string image_name) : file_(std::move(file)), image_(std::move(image_name)) {}
    result<std::string> read_entry(const std::string& path, std::size_t limit) const;

    std::filesystem::path file_;
    std::string image_;
};

}  // namespace cdi
