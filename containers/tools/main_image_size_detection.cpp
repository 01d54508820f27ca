// cdi-image-size-detection: the PVC clone controller's size-detection pod runs
// `cdi-image-size-detection -image-path /data/disk.img` from the importer image and reads the image's
// virtual size, in decimal bytes, from the container's termination message
// (pkg/controller/datavolume/pvc-clone-controller.go getSizeFromPod). The size is written there
// (CDI_TERMINATION_LOG overrides /dev/termination-log) and also printed on stdout.
// Exit status as CDI's tools/cdi-image-size-detection (pkg/controller/common ErrBadArguments...), which
// the controller turns into the event reason: 1 bad arguments, 2 the file has no virtual size we can
// read, 3 a -scheme other than file://, 4 the termination message cannot be written. A Go flag
// error (an unknown flag) is exit 2, as Go's flag package does.
#include "containers/tools/image_size.hpp"
#include "convert/qemu_img.hpp"
#include "importer/pod/termination_message.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

enum exit_code { ok = 0, bad_arguments = 1, invalid_file = 2, invalid_path = 3, bad_term_file = 4 };

int fail(int status, const std::string& why) {
    std::fprintf(stderr, "cdi-image-size-detection: %s\n", why.c_str());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::string image_path;
    std::string scheme = "file://";
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--" || arg.size() < 2 || arg[0] != '-') break;
        arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
        std::string_view name = arg.substr(0, arg.find('='));
        std::string* target = name == "image-path" ? &image_path : name == "scheme" ? &scheme : nullptr;
        if (!target) return fail(2, "flag provided but not defined: -" + std::string(name));
        if (name.size() < arg.size()) {
            *target = std::string(arg.substr(name.size() + 1));
        } else if (i + 1 < argc) {
            *target = argv[++i];
        } else {
            return fail(2, "flag needs an argument: -" + std::string(name));
        }
    }
    if (image_path.empty()) return fail(bad_arguments, "One or more mandatory parameters are missing: -image-path");
    if (scheme != "file://") return fail(invalid_path, "unsupported -scheme \"" + scheme + "\": only file:// images are local");

    cdi::qemu_img qemu;
    auto size = cdi::image_virtual_size(image_path, qemu);
    if (!size) return fail(invalid_file, "Unable to extract information from '" + image_path + "': " + size.error().message());

    const std::string text = std::to_string(*size);
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
    const char* term = std::getenv("CDI_TERMINATION_LOG");
    if (auto r = cdi::write_termination_file(term && *term ? term : "/dev/termination-log", text); !r) {
        return fail(bad_term_file, "Unable to write to termination file: " + r.error().message());
    }
    return ok;
}
