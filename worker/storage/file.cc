#include "worker/storage/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wallet {
namespace {

std::string Describe(std::string_view what, const std::string& path) {
  std::string text(what);
  text += ' ';
  text += path;
  text += ": ";
  text += std::strerror(errno);
  return text;
}

class PosixAppendFile final : public AppendFile {
 public:
  PosixAppendFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixAppendFile() override { ::close(fd_); }

  bool Append(std::string_view data, std::string& error) override {
    while (!data.empty()) {
      const ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        error = Describe("write", path_);
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
  }

  bool Sync(std::string& error) override {
    if (::fdatasync(fd_) != 0) {
      error = Describe("fdatasync", path_);
      return false;
    }
    return true;
  }

 private:
  const int fd_;
  const std::string path_;
};

}  // namespace

std::unique_ptr<AppendFile> OpenPosixAppendFile(const std::string& path,
                                                bool create,
                                                std::string& error) {
  const int flags =
      O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    error = Describe("open", path);
    return nullptr;
  }
  return std::make_unique<PosixAppendFile>(fd, path);
}

bool ReadFile(const std::string& path, std::string& data, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = Describe("open", path);
    return false;
  }
  struct stat info {};
  bool ok = ::fstat(fd, &info) == 0;
  if (ok) {
    data.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (ok && done < data.size()) {
      const ssize_t got = ::read(fd, data.data() + done, data.size() - done);
      if (got < 0 && errno == EINTR) continue;
      ok = got > 0;
      if (ok) done += static_cast<std::size_t>(got);
    }
  }
  if (!ok) error = Describe("read", path);
  ::close(fd);
  return ok;
}

bool SyncDirectory(const std::string& dir, std::string& error) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = Describe("open", dir);
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  if (!ok) error = Describe("fsync", dir);
  ::close(fd);
  return ok;
}

bool MakeDirectory(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return true;
  error = Describe("mkdir", dir);
  return false;
}

bool TruncateFile(const std::string& path, std::uint64_t size,
                  std::string& error) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) == 0) return true;
  error = Describe("truncate", path);
  return false;
}

bool RemoveFile(const std::string& path, std::string& error) {
  if (::unlink(path.c_str()) == 0) return true;
  error = Describe("unlink", path);
  return false;
}

bool RenameFile(const std::string& from, const std::string& to,
                std::string& error) {
  if (::rename(from.c_str(), to.c_str()) == 0) return true;
  error = Describe("rename", from);
  return false;
}

bool ListDirectory(const std::string& dir, std::string_view prefix,
                   std::string_view suffix, std::vector<std::string>& names,
                   std::string& error) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    error = Describe("opendir", dir);
    return false;
  }
  names.clear();
  while (const dirent* entry = ::readdir(handle)) {
    const std::string_view name(entry->d_name);
    if (name.starts_with(prefix) && name.ends_with(suffix) &&
        name.size() > prefix.size() + suffix.size()) {
      names.emplace_back(name);
    }
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return true;
}

}  // namespace wallet
