// The streamOptimized VMDK decoder (convert/vmdk_stream_decoder, vmdk_stream_tables), differentially
// against qemu-img convert (stream_decoder_differential.hpp).
#include "convert/vmdk_stream_decoder.hpp"
#include "fuzz/stream_decoder_differential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cdi::fuzz::differential<cdi::vmdk_stream_decoder>(cdi::fuzz::bytes_of(data, size), "vmdk");
    return 0;
}
