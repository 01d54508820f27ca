#pragma once
// Builds the unwrapping stack over an origin: CDI's header loop (contract section 3) made explicit.
//
//   origin → peek+sniff → [decompressor → peek+sniff] x at most max_compression_layers → top
//
// Each round peeks sniff_window bytes, sniffs them, and either wraps the matching decompressor over
// the peek_source (which replays the peeked bytes) or stops at the first non-compression format.
// `top` is the innermost peek_source, so the consumer reads the innermost stream from byte 0.
//
// Refusals (nothing is written before build_pipeline returns):
//   - E_EMPTY "no data": the origin, or the innermost stream after decompression, has no bytes.
//   - E_TOO_SMALL "image is N bytes, smaller than one 512-byte sector": the innermost stream is
//     shorter than 512 bytes (CDI fails these too, contract 10.19). A short compressed layer is fine.
//   - E_AMBIGUOUS_FORMAT "image matches both qcow2 and iso": two magics match the same bytes, at any
//     layer (rules in format_sniffer.hpp).
//   - E_DECOMPRESS: the same compression type twice ("nested gzip inside gzip: refused"), or more than
//     max_compression_layers layers (security.md D3; CDI allows each type once).
//   - Errors of a decompressor or of the origin while peeking are returned unchanged.
// Formats recognised only to be refused (qed, qcow1) and tar are returned as `format`; refusing them
// is the caller's decision (the content type decides what tar means).
#include "cdi/image_format.hpp"
#include "cdi/source.hpp"
#include "importer/stages/format_sniffer.hpp"
#include "importer/stages/gzip_source.hpp"
#include "importer/stages/xz_source.hpp"

#include <vector>

namespace cdi {

struct pipeline_options {
    std::size_t max_compression_layers = 2;
    gzip_backend gzip = gzip_backend::isal;
    xz_options xz{};
};

struct pipeline {
    source_ptr top;                    // the decompressed stream, sniffed head replayed
    image_format format;               // format of the innermost stream (raw, iso, qcow2, vmdk, vdi, vhd, vhdx, tar, qed, qcow1)
    std::vector<image_format> layers;  // compression layers unwrapped, outermost first
    std::vector<std::byte> head;       // copy of the first bytes of the innermost stream (<= sniff_window)
};

result<pipeline> build_pipeline(source_ptr origin, const pipeline_options& opts = {});

}  // namespace cdi
