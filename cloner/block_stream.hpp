#pragma once
// The blockdevice-clone payload (contract 6.8): every byte of the source block volume, in order.
// Read with 1 MiB preads into one buffer reused for the whole device, with POSIX_FADV_WILLNEED kept
// 16 MiB ahead so the device's reads overlap the framing on the same thread (without it a cold
// device read 1.5-2x slower than `cat | framer`); the framing makes zero runs cheap on the wire
// (snappy_frame_writer's zero chunk).
// Errors: a read failure is errc::io naming the device and the offset; a device that ends before
// its reported size is errc::truncated; the pipe's errc::canceled when the upload stopped.
#include "cdi/error.hpp"
#include "cloner/framed_pipe.hpp"

#include <cstdint>
#include <string>

namespace cdi {

result<void> stream_block_device(int fd, std::uint64_t size, const std::string& name, framed_pipe& out);

}  // namespace cdi
