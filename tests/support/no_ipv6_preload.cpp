// LD_PRELOAD shim for tests of IPv4 fallbacks: a host where IPv6 is off. socket(AF_INET6, ...) fails
// with EAFNOSUPPORT, as on a kernel booted with ipv6.disable=1; every other socket is made as usual.
#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>

extern "C" int socket(int domain, int type, int protocol) {
    if (domain == AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    using socket_fn = int (*)(int, int, int);
    static const auto real = reinterpret_cast<socket_fn>(::dlsym(RTLD_NEXT, "socket"));
    return real(domain, type, protocol);
}
