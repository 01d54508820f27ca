#pragma once
// The words an object store or a token endpoint puts in the body of a refusal, as one short line for
// an error context (http_options::error_detail): S3's XML <Code> and <Message> ("NoSuchKey: The
// specified key does not exist."), as CDI's messages carry them from AWS's SDK; OAuth 2.0's JSON
// "error" and "error_description" (RFC 6749 section 5.2). Pure. Only printable ASCII is kept, at most
// 200 characters; a body that holds neither gives "".
#include <string>
#include <string_view>

namespace cdi {

std::string s3_error_words(std::string_view body);
std::string oauth_error_words(std::string_view body);

}  // namespace cdi
