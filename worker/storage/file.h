// The storage layer's view of files: an append-only file it can sync, and
// the few directory operations a journal and its snapshots need. Errors
// come back as text naming the path and errno.
//
// AppendFile is an interface so that tests can put a failing disk under
// the journal (tests/storage/faulty_file.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wallet {

class AppendFile {
 public:
  virtual ~AppendFile() = default;
  // Writes all of `data` at the end of the file.
  virtual bool Append(std::string_view data, std::string& error) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual bool Sync(std::string& error) = 0;
};

// Opens `path` for appending, creating it if `create` (and failing if it
// exists then).
using AppendFileOpener = std::function<std::unique_ptr<AppendFile>(
    const std::string& path, bool create, std::string& error)>;
std::unique_ptr<AppendFile> OpenPosixAppendFile(const std::string& path,
                                                bool create,
                                                std::string& error);

// Whole-file and directory helpers.
bool ReadFile(const std::string& path, std::string& data, std::string& error);
bool SyncDirectory(const std::string& dir, std::string& error);
bool MakeDirectory(const std::string& dir, std::string& error);
bool TruncateFile(const std::string& path, std::uint64_t size,
                  std::string& error);
bool RemoveFile(const std::string& path, std::string& error);
bool RenameFile(const std::string& from, const std::string& to,
                std::string& error);
// Names (not paths) of the entries of `dir` that start with `prefix` and
// end with `suffix`, sorted.
bool ListDirectory(const std::string& dir, std::string_view prefix,
                   std::string_view suffix, std::vector<std::string>& names,
                   std::string& error);

}  // namespace wallet
