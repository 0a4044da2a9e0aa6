// A fault-injecting file layer for the storage tests: an AppendFileOpener
// whose files write through to real files (OpenPosixAppendFile) until the
// test arms a fault. A fault is one-shot: the next matching call fails and
// later calls go through again, as they would on a disk that came back.
// It is then up to the code under test to remember the failure.
//
// An armed append can also write part of its data before failing, which
// is what a crash in the middle of write() leaves on disk.
//
// Thread safety: the journal's writer thread calls the files while the
// test thread arms faults and reads counters; all state sits behind one
// mutex. The state is shared, so files may outlive the injector.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "worker/storage/file.h"

namespace wallet::storage_test {

class FaultInjector {
 public:
  FaultInjector() : state_(std::make_shared<State>()) {}

  // The next Append fails, after writing `torn_prefix_bytes` of its data
  // (clamped to the data's size) to the real file.
  void FailNextAppend(std::size_t torn_prefix_bytes = 0) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->fail_next_append = true;
    state_->torn_prefix_bytes = torn_prefix_bytes;
  }
  // The next Sync fails without syncing.
  void FailNextSync() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->fail_next_sync = true;
  }
  // The next open fails without creating the file.
  void FailNextOpen() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->fail_next_open = true;
  }

  // Calls seen so far, failed ones included.
  std::uint64_t appends() const { return Read(&State::appends); }
  std::uint64_t syncs() const { return Read(&State::syncs); }
  std::uint64_t opens() const { return Read(&State::opens); }
  // Faults that have fired.
  std::uint64_t injected() const { return Read(&State::injected); }

  AppendFileOpener opener() const {
    return [state = state_](const std::string& path, bool create,
                            std::string& error) -> std::unique_ptr<AppendFile> {
      {
        std::lock_guard<std::mutex> lock(state->mu);
        ++state->opens;
        if (state->fail_next_open) {
          state->fail_next_open = false;
          ++state->injected;
          error = "injected open failure: " + path;
          return nullptr;
        }
      }
      std::unique_ptr<AppendFile> real =
          OpenPosixAppendFile(path, create, error);
      if (real == nullptr) return nullptr;
      return std::make_unique<FaultyFile>(std::move(real), path, state);
    };
  }

 private:
  struct State {
    std::mutex mu;
    bool fail_next_append = false;
    std::size_t torn_prefix_bytes = 0;
    bool fail_next_sync = false;
    bool fail_next_open = false;
    std::uint64_t appends = 0;
    std::uint64_t syncs = 0;
    std::uint64_t opens = 0;
    std::uint64_t injected = 0;
  };

  class FaultyFile final : public AppendFile {
   public:
    FaultyFile(std::unique_ptr<AppendFile> real, std::string path,
               std::shared_ptr<State> state)
        : real_(std::move(real)),
          path_(std::move(path)),
          state_(std::move(state)) {}

    bool Append(std::string_view data, std::string& error) override {
      bool fail = false;
      std::size_t prefix_bytes = 0;
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        ++state_->appends;
        if (state_->fail_next_append) {
          state_->fail_next_append = false;
          ++state_->injected;
          fail = true;
          prefix_bytes = std::min(state_->torn_prefix_bytes, data.size());
        }
      }
      if (!fail) return real_->Append(data, error);
      std::string ignored;
      if (prefix_bytes > 0)
        real_->Append(data.substr(0, prefix_bytes), ignored);
      error = "injected write failure: " + path_;
      return false;
    }

    bool Sync(std::string& error) override {
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        ++state_->syncs;
        if (state_->fail_next_sync) {
          state_->fail_next_sync = false;
          ++state_->injected;
          error = "injected fdatasync failure: " + path_;
          return false;
        }
      }
      return real_->Sync(error);
    }

   private:
    const std::unique_ptr<AppendFile> real_;
    const std::string path_;
    const std::shared_ptr<State> state_;
  };

  std::uint64_t Read(std::uint64_t State::*counter) const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return (*state_).*counter;
  }

  const std::shared_ptr<State> state_;
};

}  // namespace wallet::storage_test
