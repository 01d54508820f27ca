#include "importer/registry/containerdisk_source.hpp"

#include "importer/registry/image_blobs.hpp"
#include "importer/stages/pipeline.hpp"
#include "importer/stages/read_ahead_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <spdlog/spdlog.h>

namespace cdi {
namespace {

containerdisk_overlay::kind entry_kind(archive_entry* e) {
    if (archive_entry_hardlink(e) != nullptr) return containerdisk_overlay::kind::hardlink;
    switch (archive_entry_filetype(e)) {
    case AE_IFREG: return containerdisk_overlay::kind::regular;
    case AE_IFDIR: return containerdisk_overlay::kind::directory;
    case AE_IFLNK: return containerdisk_overlay::kind::symlink;
    default: return containerdisk_overlay::kind::other;
    }
}

}  // namespace

error containerdisk_source::in_layer(const error& e) const {
    if (e.context.find(layer_name_) != std::string::npos) return e;  // already names the blob
    return error{e.code, layer_name_ + ": " + e.context};
}

result<std::unique_ptr<containerdisk_source>> containerdisk_source::open(image_source& images, std::vector<descriptor> layers) {
    if (layers.empty()) return make_error(errc::bad_image, "the image has no layers");
    std::unique_ptr<containerdisk_source> s(new containerdisk_source(images, std::move(layers)));
    for (;;) {
        auto more = s->open_next_layer();
        if (!more) return more.error();
        if (!*more) {
            if (auto f = s->overlay_.finish(); !f) return f.error();
            return make_error(errc::bad_image, "no disk found");  // unreachable: finish() fails without one
        }
        auto found = s->scan_layer();
        if (!found) return found.error();
        if (*found) return s;
    }
}

containerdisk_source::~containerdisk_source() {
    reader_.reset();  // borrows layer_top_
}

result<bool> containerdisk_source::open_next_layer() {
    reader_.reset();
    layer_top_.reset();
    layer_check_ = nullptr;
    if (next_ >= layers_.size()) return false;
    const descriptor& d = layers_[layers_.size() - 1 - next_];
    ++next_;
    layer_name_ = "layer " + d.digest + " of " + images_.name();
    auto blob = images_.open_blob(d);
    if (!blob) return blob.error();
    auto checked = verified_blob(std::move(*blob), d, layer_name_);
    if (!checked) return checked.error();
    layer_check_ = checked->get();
    // Layers are tar, tar+gzip or tar+zstd: sniffed rather than trusted from the media type.
    pipeline_options opts;
    opts.max_compression_layers = 1;
    auto pipe = build_pipeline(std::move(*checked), opts);
    if (!pipe) {
        // The pipeline's disk-image size rules do not apply to a layer: a short one is just not a tar.
        if (pipe.error().is(errc::too_small) || pipe.error().is(errc::empty))
            return make_error(errc::bad_image, layer_name_ + " is not a tar archive: " + pipe.error().context);
        return in_layer(pipe.error());
    }
    // The blob is received, hashed and decompressed on the read-ahead's thread, beside this one's
    // untar and decode (and the disk's writes on theirs).
    layer_top_ = std::make_unique<read_ahead_source>(std::move(pipe->top));
    reader_ = std::make_unique<archive_reader>(*layer_top_);
    spdlog::info("reading {} ({} bytes)", layer_name_, d.size);
    return true;
}

result<bool> containerdisk_source::scan_layer() {
    for (;;) {
        auto e = reader_->next_entry();
        if (!e) return in_layer(e.error());
        if (*e == nullptr) break;
        const char* name = archive_entry_pathname(*e);
        if (name == nullptr) name = archive_entry_pathname_utf8(*e);
        if (name == nullptr) return make_error(errc::bad_image, layer_name_ + " has an entry without a usable name");
        auto is_disk = overlay_.entry(name, entry_kind(*e));
        if (!is_disk) return is_disk.error();
        if (!*is_disk) continue;
        const la_int64_t size = archive_entry_size(*e);
        if (size < 0) return make_error(errc::bad_image, layer_name_ + ": negative size for " + overlay_.disk_path());
        data_.emplace(overlay_.disk_path(), static_cast<std::uint64_t>(size));
        disk_layer_ = layers_[layers_.size() - next_].digest;
        spdlog::info("the disk is {} in {} ({} bytes)", overlay_.disk_path(), layer_name_, size);
        return true;
    }
    // finish() reads the layer to its end, through the read-ahead, whose thread has then stopped
    // reading: layer_check_ is this thread's again for the rest of the blob and its digest.
    if (auto f = reader_->finish(); !f) return in_layer(f.error());
    if (auto v = layer_check_->drain_and_verify(); !v) return v.error();
    overlay_.end_layer();
    return false;
}

result<void> containerdisk_source::check_rest() {
    auto more_in_layer = scan_layer();
    if (!more_in_layer) return more_in_layer.error();
    for (;;) {
        auto more = open_next_layer();
        if (!more) return more.error();
        if (!*more) break;
        auto found = scan_layer();
        if (!found) return found.error();
    }
    reader_.reset();
    layer_top_.reset();
    return overlay_.finish();
}

result<std::size_t> containerdisk_source::read(std::span<std::byte> buf) {
    if (error_) return *error_;
    if (done_ || buf.empty()) return std::size_t{0};
    auto n = data_->read(*reader_, buf);
    if (!n) n = in_layer(n.error());
    if (n && *n > 0) return n;
    if (n) {
        if (auto r = check_rest(); !r) {
            n = r.error();
        } else {
            done_ = true;
            return std::size_t{0};
        }
    }
    error_ = n.error();
    return *error_;
}

}  // namespace cdi
