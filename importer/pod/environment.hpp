#pragma once
// Reading a pod's environment the way CDI's Go binaries do, for both binaries' start-up
// configuration. The lookup is injected (std::getenv in the binaries, a map in tests).
#include "cdi/job.hpp"

#include <functional>
#include <string>

namespace cdi {

using env_lookup = std::function<const char*(const char*)>;

// The variable's value, or fallback when it is unset (an empty value is returned as empty).
std::string env(const env_lookup& getenv_fn, const char* name, const char* fallback = "");

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; empty is false.
// Anything else throws std::invalid_argument naming the variable (start-up only).
bool parse_go_bool(const std::string& name, const std::string& value);

// A TCP port number 0..65535 (CDI_METRICS_PORT); anything else throws std::invalid_argument naming
// the variable (start-up only).
unsigned short parse_port(const std::string& name, const std::string& value);

// CDI_CONVERTER, our operator switch (both binaries): "stream" or empty (the default: qcow2 and
// streamOptimized VMDK decoded as they arrive) or "qemu-img" (staged in scratch and converted by
// qemu-img, as CDI does).
// Anything else throws std::invalid_argument (start-up only).
converter parse_converter(const std::string& value);

}  // namespace cdi
