#pragma once
// CDI's envsToLabels (contract section 5): the image's environment entries "KEY=VALUE" whose key
// contains KUBEVIRT_IO_ become PVC labels. The part before KUBEVIRT_IO_ is a dotted prefix, the
// part after a dash-joined suffix, all lower case:
//   INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small -> instancetype.kubevirt.io/default-instancetype: u1.small
//   KUBEVIRT_IO_TEST=x                                      -> kubevirt.io/test: x
// Used for the termination message's labels (registry pulls, and node pulls via GET /info).
#include "cdi/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cdi {

std::map<std::string, std::string> env_labels(const std::vector<std::string>& env_entries);

// The labels from a containerimage-server's GET /info body: {"env": ["K=V", ...]} (env may be null
// or missing: no labels). Errors: errc::bad_request for a body that is not that JSON.
result<std::map<std::string, std::string>> env_labels_from_info(std::string_view json_body);

}  // namespace cdi
