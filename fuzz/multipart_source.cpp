// The multipart/form-data body of the upload-form paths (server/multipart_source): the boundary taken
// from a Content-Type value, the part headers, the "file" part's bytes up to the closing delimiter.
// The input is: one control byte, a Content-Type value (up to a NUL), then the body.
#include "fuzz/fuzz_support.hpp"
#include "importer/stages/memory_source.hpp"
#include "server/multipart_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    const std::uint8_t control = data[0];
    const std::string_view rest = fuzz::text_of(data + 1, size - 1);
    const auto nul = rest.find('\0');
    const std::string_view content_type = rest.substr(0, nul);
    const std::string_view body = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);

    const std::string boundary = multipart_boundary(content_type);
    if (boundary.empty()) return 0;  // the request policy answers 400 before any body is read
    multipart_source m(std::make_unique<memory_source>(std::as_bytes(std::span(body.data(), body.size()))), boundary);
    const std::uint64_t got = fuzz::drain(m, fuzz::chunk_of(control));
    fuzz::check(got <= body.size(), "the part is longer than the body");
    return 0;
}
