#include "importer/stages/pipeline.hpp"

#include "importer/stages/peek_source.hpp"
#include "importer/stages/zstd_source.hpp"

#include <algorithm>
#include <string>

namespace cdi {

namespace {

std::string name(image_format f) { return std::string(to_string(f)); }

// "image matches both qcow2 and iso", or "image matches qcow2, tar and iso" for more.
std::string ambiguity_message(const std::vector<image_format>& matches) {
    if (matches.size() == 2) return "image matches both " + name(matches[0]) + " and " + name(matches[1]);
    std::string s = "image matches ";
    for (std::size_t i = 0; i < matches.size(); ++i) {
        if (i > 0) s += i + 1 == matches.size() ? " and " : ", ";
        s += name(matches[i]);
    }
    return s;
}

// "zstd inside xz inside gzip": the new layer first, then the ones around it, innermost to outermost.
std::string nesting(image_format inner, const std::vector<image_format>& layers) {
    std::string s = name(inner);
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) s += " inside " + name(*it);
    return s;
}

source_ptr make_decompressor(image_format f, source_ptr upstream, const pipeline_options& opts) {
    switch (f) {
    case image_format::gzip: return std::make_unique<gzip_source>(std::move(upstream), opts.gzip);
    case image_format::xz: return std::make_unique<xz_source>(std::move(upstream), opts.xz);
    case image_format::zstd: return std::make_unique<zstd_source>(std::move(upstream));
    default: return upstream;  // unreachable: called for compression formats only
    }
}

}  // namespace

result<pipeline> build_pipeline(source_ptr origin, const pipeline_options& opts) {
    source_ptr current = std::move(origin);
    std::vector<image_format> layers;
    for (;;) {
        auto peeked = peek_source::make(std::move(current), sniff_window);
        if (!peeked) return peeked.error();
        std::unique_ptr<peek_source> peek = std::move(*peeked);
        const auto head = peek->head();

        if (head.empty()) {
            if (layers.empty()) return make_error(errc::empty, "no data");
            return make_error(errc::empty, "no data: the " + name(layers.back()) + " stream decompresses to nothing");
        }
        sniff_result sniffed = sniff_format(head);
        if (sniffed.matches.size() > 1) return make_error(errc::ambiguous_format, ambiguity_message(sniffed.matches));

        if (is_compression(sniffed.format)) {
            if (std::find(layers.begin(), layers.end(), sniffed.format) != layers.end()) {
                return make_error(errc::decompress, "nested " + nesting(sniffed.format, layers) + ": refused");
            }
            if (layers.size() >= opts.max_compression_layers) {
                return make_error(errc::decompress, "compression nested " + std::to_string(layers.size() + 1) +
                                                        " deep (" + nesting(sniffed.format, layers) + "): at most " +
                                                        std::to_string(opts.max_compression_layers) +
                                                        " layers are allowed");
            }
            layers.push_back(sniffed.format);
            current = make_decompressor(sniffed.format, std::move(peek), opts);
            continue;
        }

        // A disk written as raw needs at least one sector; a short file in a container format goes on
        // to the inspector, which names what is wrong with it (a VMDK descriptor naming a file, say).
        if (head.size() < min_image_bytes && !needs_conversion(sniffed.format)) {
            return make_error(errc::too_small, "image is " + std::to_string(head.size()) + " bytes, smaller than one " +
                                                   std::to_string(min_image_bytes) + "-byte sector");
        }
        pipeline p;
        p.format = sniffed.format;
        p.layers = std::move(layers);
        p.head.assign(head.begin(), head.end());
        p.top = std::move(peek);
        return p;
    }
}

}  // namespace cdi
