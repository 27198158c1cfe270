// Reading a file or copying a buffer into a PaddedBuffer (dataset_internal.h),
// the padded input every loader parses.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "cocoeval_cc/dataset_internal.h"

namespace cocoeval {
namespace internal {

PaddedBuffer::~PaddedBuffer() {
  if (map_) ::munmap(map_, map_size_);
}

bool PaddedBuffer::Map(int fd, size_t n) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t file_pages = (n + page - 1) / page * page;
  map_size_ = page + file_pages + (simdjson::SIMDJSON_PADDING + page - 1) / page * page;
  void* base =
      ::mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    map_ = nullptr;
    return false;
  }
  map_ = base;
  char* file = static_cast<char*>(base) + page;
  if (n > 0 && ::mmap(file, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd,
                      0) == MAP_FAILED) {
    return false;
  }
  data = file;
  size = n;
  return true;
}

void ReadFile(const std::string& path, PaddedBuffer* buf) {
  // O_NONBLOCK: opening a FIFO without a writer would block before the regular-file check.
  // It does not change reads from a regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) Fail(path, "", std::string("cannot open file: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    Fail(path, "", "not a regular file");
  }
  const size_t n = static_cast<size_t>(st.st_size);
  if (n >= (1u << 16) && buf->Map(fd, n)) {
    ::close(fd);
    return;
  }
  buf->Allocate(n);
  size_t got = 0;
  while (got < buf->size) {
    const ssize_t r = ::read(fd, buf->data + got, buf->size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      Fail(path, "",
           std::string("cannot read file: ") +
               (r < 0 ? std::strerror(errno) : "file shrank while reading"));
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
}

void CopyBuffer(std::string_view json, PaddedBuffer* buf) {
  buf->Allocate(json.size());
  if (!json.empty()) std::memcpy(buf->data, json.data(), json.size());
}

bool IsBlank(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') return false;
  }
  return true;
}

}  // namespace internal
}  // namespace cocoeval
