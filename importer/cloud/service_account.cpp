#include "importer/cloud/service_account.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace cdi {
namespace {

std::string field(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string base64url(std::string_view data) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(data[k]); };
    for (; i + 3 <= data.size(); i += 3) {
        const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += {table[v >> 18 & 63], table[v >> 12 & 63], table[v >> 6 & 63], table[v & 63]};
    }
    if (data.size() - i == 1) {
        const unsigned v = byte(i) << 16;
        out += {table[v >> 18 & 63], table[v >> 12 & 63]};
    } else if (data.size() - i == 2) {
        const unsigned v = byte(i) << 16 | byte(i + 1) << 8;
        out += {table[v >> 18 & 63], table[v >> 12 & 63], table[v >> 6 & 63]};
    }
    return out;
}

result<service_account_key> parse_service_account_key(std::string_view json) {
    boost::system::error_code ec;
    auto v = boost::json::parse(json, ec);
    if (ec || !v.is_object()) return make_error(errc::bad_request, "the service account key is not a JSON object");
    const auto& o = v.as_object();
    if (auto type = field(o, "type"); type != "service_account")
        return make_error(errc::bad_request, "the credentials file is of type \"" + type.substr(0, 64) +
                                                 "\": only a service account key (\"service_account\") is supported");
    service_account_key k{field(o, "client_email"), field(o, "private_key_id"), field(o, "private_key"), field(o, "token_uri")};
    if (k.client_email.empty() || k.private_key.empty())
        return make_error(errc::bad_request, "the service account key has no " + std::string(k.client_email.empty() ? "client_email" : "private_key"));
    if (k.token_uri.empty()) k.token_uri = std::string(google_token_uri);
    return k;
}

result<service_account_key> read_service_account_key(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(errc::io, "cannot read the service account key " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().size() > 1024 * 1024) return make_error(errc::bad_request, file.string() + ": the service account key is over 1 MiB");
    auto k = parse_service_account_key(text.str());
    if (!k) return error{k.error().code, file.string() + ": " + k.error().context};
    return k;
}

result<std::string> jwt_assertion(const service_account_key& key, std::string_view scope, std::chrono::system_clock::time_point now) {
    boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
    if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
    // golang.org/x/oauth2/jws: iat 10 s in the past (clock skew), exp one hour after it.
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - 10;
    boost::json::object claims{{"iss", key.client_email}, {"scope", scope}, {"aud", key.token_uri}, {"exp", iat + 3600}, {"iat", iat}};
    const std::string input = base64url(boost::json::serialize(header)) + "." + base64url(boost::json::serialize(claims));

    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key.private_key.data(), static_cast<int>(key.private_key.size())), BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                                                            EVP_PKEY_free);
    if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
        ERR_clear_error();  // OpenSSL's words could quote the PEM's lines: the class and the account say enough
        return make_error(errc::bad_request, "the private key of service account " + key.client_email + " is not a PEM RSA key");
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t len = 0;
    if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        return make_error(errc::bad_request, "cannot sign with the private key of service account " + key.client_email);
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1)
        return make_error(errc::bad_request, "cannot sign with the private key of service account " + key.client_email);
    sig.resize(len);
    return input + "." + base64url(sig);
}

}  // namespace cdi
