// The stream-order qcow2 decoder (convert/qcow2_stream_decoder and its qcow2_stream_* pieces),
// differentially against qemu-img convert (stream_decoder_differential.hpp).
#include "convert/qcow2_stream_decoder.hpp"
#include "fuzz/stream_decoder_differential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cdi::fuzz::differential<cdi::qcow2_stream_decoder>(cdi::fuzz::bytes_of(data, size), "qcow2");
    return 0;
}
