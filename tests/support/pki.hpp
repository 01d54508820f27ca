#pragma once
// A throwaway PKI for TLS tests, generated with the openssl CLI at test time (never checked in):
// a CA, a server certificate for 127.0.0.1/localhost, client certificates with chosen CNs signed by
// that CA, and a second, untrusted CA with its own client. EC P-256 keys: fast to generate.
#include "support/test_env.hpp"

#include <filesystem>
#include <string>

namespace cdi::test {

class pki {
public:
    static constexpr const char* client_cn = "client.upload-server.cdi.kubevirt.io";

    explicit pki(const std::filesystem::path& dir) : dir_(dir) {
        std::filesystem::create_directories(dir_);
        make_ca("ca");
        make_ca("rogue-ca");
        make_cert("server", "ca", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
        make_cert("client", "ca", client_cn, "");
        make_cert("other", "ca", "other", "");
        make_cert("rogue", "rogue-ca", client_cn, "");
    }

    std::filesystem::path crt(const std::string& name) const { return dir_ / (name + ".crt"); }
    std::filesystem::path key(const std::string& name) const { return dir_ / (name + ".key"); }
    const std::filesystem::path& dir() const { return dir_; }

    // A leaf certificate `name` with subject "/CN=<cn>" signed by CA `ca` (a client certificate when
    // ext is empty, a server certificate with those extensions otherwise).
    void make_cert(const std::string& name, const std::string& ca, const std::string& cn, const std::string& ext) {
        make_key(name);
        std::string exts = ext.empty() ? std::string() : ext + "\n";
        exts += "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n";
        exts += ext.empty() ? "extendedKeyUsage=clientAuth\n" : "extendedKeyUsage=serverAuth\n";
        sign(name, ca, cn, exts);
    }

    // An intermediate CA `name` with subject "/CN=<cn>" signed by CA `ca`.
    void make_intermediate(const std::string& name, const std::string& ca, const std::string& cn) {
        make_key(name);
        sign(name, ca, cn, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    }

private:
    void make_key(const std::string& name) {
        must_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + q(key(name)));
    }

    void make_ca(const std::string& name) {
        make_key(name);
        must_run("openssl req -x509 -new -key " + q(key(name)) + " -subj '/CN=" + name +
                 "' -days 2 -out " + q(crt(name)) +
                 " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    }

    void sign(const std::string& name, const std::string& ca, const std::string& cn, const std::string& exts) {
        const auto csr = dir_ / (name + ".csr");
        const auto extfile = dir_ / (name + ".ext");
        write_file(extfile, exts.data(), exts.size());
        must_run("openssl req -new -key " + q(key(name)) + " -subj '/CN=" + cn + "' -out " + q(csr));
        must_run("openssl x509 -req -in " + q(csr) + " -CA " + q(crt(ca)) + " -CAkey " + q(key(ca)) +
                 " -CAcreateserial -days 2 -extfile " + q(extfile) + " -out " + q(crt(name)));
    }

    std::filesystem::path dir_;
};

}  // namespace cdi::test
