#pragma once
// Tar fixtures: forged entries written with python3's tarfile (GNU tar refuses to create most of
// them), and normal archives made by GNU tar itself. security.md section 7, E1-E4.
#include "test_env.hpp"

#include <filesystem>
#include <string>

namespace cdi::test {

// Writes the tar `out` by running body (python statements) after these helpers are defined:
//   reg(name, data=b'', mode=0o644)   dir(name, mode=0o755)   sym(name, target)   hard(name, target)
//   chr(name, major, minor)   blk(name, major, minor)   fifo(name)
// fmt is the tarfile format constant name: GNU_FORMAT, PAX_FORMAT or USTAR_FORMAT.
inline void python_tar(const fs::path& out, const std::string& body, const std::string& fmt = "GNU_FORMAT") {
    const fs::path script = fs::path(out).replace_extension(".py");
    const std::string text =
        "import io, sys, tarfile\n"
        "t = tarfile.open(sys.argv[1], 'w', format=tarfile." + fmt + ")\n"
        "def add(name, kind, mode=0o644, data=b'', link='', major=0, minor=0):\n"
        "    i = tarfile.TarInfo(name)\n"
        "    i.type = kind; i.mode = mode; i.size = len(data); i.linkname = link\n"
        "    i.devmajor = major; i.devminor = minor; i.mtime = 1700000000\n"
        "    t.addfile(i, io.BytesIO(data) if data else None)\n"
        "def reg(name, data=b'', mode=0o644): add(name, tarfile.REGTYPE, mode, data)\n"
        "def dir(name, mode=0o755): add(name, tarfile.DIRTYPE, mode)\n"
        "def sym(name, target): add(name, tarfile.SYMTYPE, 0o777, link=target)\n"
        "def hard(name, target): add(name, tarfile.LNKTYPE, link=target)\n"
        "def chr(name, major, minor): add(name, tarfile.CHRTYPE, major=major, minor=minor)\n"
        "def blk(name, major, minor): add(name, tarfile.BLKTYPE, major=major, minor=minor)\n"
        "def fifo(name): add(name, tarfile.FIFOTYPE)\n" +
        body + "\nt.close()\n";
    write_file(script, text.data(), text.size());
    must_run("python3 '" + script.string() + "' '" + out.string() + "'");
}

// A file of `size` bytes that is a hole except for 4 KiB of 0xab at each offset in `data_at`.
inline void make_sparse_file(const fs::path& p, std::uint64_t size, std::initializer_list<std::uint64_t> data_at) {
    must_run("truncate -s " + std::to_string(size) + " '" + p.string() + "'");
    for (auto off : data_at) {
        must_run("head -c 4096 /dev/zero | tr '\\0' '\\253' | dd of='" + p.string() + "' bs=4096 seek=" +
                 std::to_string(off / 4096) + " conv=notrunc status=none");
    }
}

// Number of entries directly or indirectly under dir.
inline std::size_t count_entries(const fs::path& dir) {
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) ++n;
    return n;
}

}  // namespace cdi::test
