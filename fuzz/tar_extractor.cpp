// The safe extractor (importer/archive/tar_extractor): every entry's validation (paths, links, types,
// sizes, counts) and the files it writes. Invariant beyond the sanitizers: nothing is ever created
// beside the destination directory, whatever the entries say.
#include "fuzz/fuzz_support.hpp"
#include "importer/archive/tar_extractor.hpp"
#include "importer/stages/memory_source.hpp"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    namespace fs = std::filesystem;
    const fs::path root = fuzz::scratch_dir() / "extract";
    const fs::path dest = root / "dest";
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::create_directories(dest);

    memory_source src(fuzz::bytes_of(data, size));
    extract_options opts{.capacity = 16ull << 20, .max_entries = 1000};
    auto r = extract_tar(src, dest, opts);
    if (!r) {
        // A refused archive leaves nothing behind once its caller cleans up.
        fuzz::check(fs::exists(dest), "the destination directory itself was removed");
    }
    for (const auto& e : fs::directory_iterator(root))
        fuzz::check(e.path() == dest, "an entry was created outside the destination: " + e.path().string());
    fs::remove_all(root, ec);
    return 0;
}
