#pragma once
// The GCS origin (IMPORTER_SOURCE=gcs, CDI's gcs source): the object read the way the Go storage
// client's reader issues it, a GET of <endpoint>/<bucket>/<escaped object> (the XML API), with
// "Authorization: Bearer <token>" from the service-account key (gcs_token.hpp) or anonymously when
// there is none. An http_source: redirects (no token to another origin), retries, Range resume
// (each request carries the current token; a refused token is replaced once), checksum, progress.
#include "cdi/progress.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_source.hpp"

#include <filesystem>
#include <memory>
#include <string_view>

namespace cdi {

// key_file: GOOGLE_APPLICATION_CREDENTIALS, empty for anonymous access. Errors keep their classes
// with "GCS Importer: " and the object before them; the key file's private key is in none.
result<std::unique_ptr<http_source>> open_gcs_object(std::string_view endpoint, const std::filesystem::path& key_file, http_options opts,
                                                     const cancel_token& cancel);

}  // namespace cdi
