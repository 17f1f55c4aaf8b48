#include "loader_internal.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace goal_loader {

int MappedFile::open(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return err;
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return EISDIR;
    }
    if (st.st_size > 0) {
        void *p = mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            return err;
        }
        data_ = static_cast<const uint8_t *>(p);
        size_ = (uint64_t)st.st_size;
    }
    ::close(fd);  // the mapping keeps the file alive
    return 0;
}

bool drop_pages(const void *data, uint64_t size) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)data + page - 1) / page * page;
    uintptr_t end = ((uintptr_t)data + size) / page * page;
    return end > start && madvise((void *)start, end - start, MADV_DONTNEED) == 0;
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<uint8_t *>(data_), (size_t)size_);
}

}  // namespace goal_loader
