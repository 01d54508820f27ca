#include "importer/cloud/gcs_source.hpp"

#include "importer/cloud/error_words.hpp"
#include "importer/cloud/gcs_endpoint.hpp"
#include "importer/cloud/gcs_token.hpp"
#include "importer/http/http_url.hpp"

#include <spdlog/spdlog.h>

namespace cdi {

result<std::unique_ptr<http_source>> open_gcs_object(std::string_view endpoint, const std::filesystem::path& key_file, http_options opts,
                                                     const cancel_token& cancel) {
    auto loc = parse_gcs_endpoint(endpoint);
    if (!loc) return loc.error();
    const auto named = [&](const error& e) {
        return error{e.code, "GCS Importer: bucket " + loc->bucket + ", object " + loc->object + ": " + e.context};
    };
    // CDI's storage client sends neither Basic credentials nor the extra headers, and no HEAD.
    opts.credentials.reset();
    opts.extra_headers.clear();
    opts.authorization.clear();
    opts.authorize = nullptr;
    opts.probe_with_head = false;
    opts.error_detail = s3_error_words;  // the XML API's errors have S3's shape
    if (!key_file.empty()) {
        auto key = read_service_account_key(key_file);
        if (!key) return error{key.error().code, "GCS Importer: " + key.error().context};
        spdlog::info("GCS Importer: authenticating as {}", key->client_email);
        auto tokens = std::make_shared<gcs_token_source>(std::move(*key), opts, cancel);
        auto first = tokens->authorization();
        if (!first) return named(first.error());
        opts.authorization = std::move(*first);
        // A refused token (401) is replaced by a new one; a resume after it expired takes a new one first.
        opts.authorize = [tokens](const std::vector<std::string>&) { return tokens->refresh(); };
        opts.sign = [tokens](std::string_view, const http_url&, std::vector<std::pair<std::string, std::string>>& headers) {
            if (auto a = tokens->authorization()) {
                for (auto& h : headers)
                    if (h.first == "Authorization") h.second = *a;
            }
        };
    } else {
        spdlog::info("GCS Importer: Authentication: Anonymous");
    }
    auto src = http_source::open(loc->url, std::move(opts), cancel);
    if (!src) return named(src.error());
    return src;
}

}  // namespace cdi
