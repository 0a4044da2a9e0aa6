#include "common/curve_keys.h"

#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

namespace wallet {
namespace {

constexpr std::string_view kPublicKeyName = "public-key";
constexpr std::string_view kSecretKeyName = "secret-key";

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string KeyFileText(const CurveKeyPair& pair, bool with_secret) {
  std::string text = "#   ZeroMQ CURVE ";
  text += with_secret ? "**Secret** Certificate\n"
                        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor "
                        "change its permissions.\n"
                      : "Public Certificate\n"
                        "#   Exchange securely, or use a secure mechanism "
                        "to verify the contents\n"
                        "#   of this file after exchange.\n";
  text += "\nmetadata\ncurve\n    public-key = \"" + pair.public_key + "\"\n";
  if (with_secret) {
    text += "    secret-key = \"" + pair.secret_key + "\"\n";
  }
  return text;
}

bool WriteNewFile(const std::string& path, const std::string& text, mode_t mode,
                  std::string& error) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// Parses `name = "value"`; false when the line is something else.
bool ParseKeyLine(std::string_view line, std::string_view& name,
                  std::string_view& value) {
  const auto eq = line.find('=');
  if (eq == std::string_view::npos) return false;
  name = Trim(line.substr(0, eq));
  value = Trim(line.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return true;
}

}  // namespace

bool IsCurveKeyZ85(std::string_view text) {
  if (text.size() != kCurveKeyZ85Chars) return false;
  const std::string copy(text);
  std::array<std::uint8_t, 32> bytes{};
  return zmq_z85_decode(bytes.data(), copy.c_str()) != nullptr;
}

std::optional<CurveKeyPair> GenerateCurveKeyPair() {
  std::array<char, kCurveKeyZ85Chars + 1> public_key{};
  std::array<char, kCurveKeyZ85Chars + 1> secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    return std::nullopt;
  }
  return CurveKeyPair{public_key.data(), secret_key.data()};
}

std::string CurveSecretFilePath(const std::string& public_path) {
  return public_path + "_secret";
}

bool WriteCurveKeyFiles(const std::string& public_path,
                        const CurveKeyPair& pair, std::string& error) {
  if (!IsCurveKeyZ85(pair.public_key) || !IsCurveKeyZ85(pair.secret_key)) {
    error = "not a CURVE key pair";
    return false;
  }
  // The secret first: a public file alone is never left without its pair.
  return WriteNewFile(CurveSecretFilePath(public_path), KeyFileText(pair, true),
                      0600, error) &&
         WriteNewFile(public_path, KeyFileText(pair, false), 0644, error);
}

bool ReadCurveKeyFile(const std::string& path, CurveKeyPair& pair,
                      std::string& error) {
  std::ifstream file(path);
  if (!file) {
    error = "cannot read key file " + path + ": " + std::strerror(errno);
    return false;
  }
  CurveKeyPair read;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    const std::string_view text = Trim(line);
    std::string_view name, value;
    if (text.empty() || text.front() == '#' || !ParseKeyLine(text, name, value))
      continue;
    std::string* target = name == kPublicKeyName   ? &read.public_key
                          : name == kSecretKeyName ? &read.secret_key
                                                   : nullptr;
    if (target == nullptr) continue;
    if (!IsCurveKeyZ85(value)) {
      error = path + ":" + std::to_string(line_number) + ": " +
              std::string(name) + " is not a 40-character Z85 key";
      return false;
    }
    *target = value;
  }
  if (read.public_key.empty()) {
    error = "no public-key in key file " + path;
    return false;
  }
  if (!read.secret_key.empty()) {
    std::array<char, kCurveKeyZ85Chars + 1> derived{};
    if (zmq_curve_public(derived.data(), read.secret_key.c_str()) != 0 ||
        read.public_key != derived.data()) {
      error = "the secret key in " + path + " does not match its public key";
      return false;
    }
  }
  pair = std::move(read);
  return true;
}

}  // namespace wallet
