// CURVE key pairs (CurveZMQ) and the text files that hold them.
//
// Keys travel as Z85 text, 40 characters for 32 bytes, as libzmq's
// zmq_curve_keypair produces them. A key pair is kept in two files, in the
// format ZeroMQ's tools (czmq's zcert) use:
//
//   <path>          public key only; safe to hand to the other side
//   <path>_secret   public and secret key; readable by its owner only
//
//   metadata
//   curve
//       public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//       secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
//
// Lines starting with '#' are comments. Every function here is reentrant
// and reports failures as values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wallet {

inline constexpr std::size_t kCurveKeyZ85Chars = 40;

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters.
  std::string secret_key;  // Z85, 40 characters; empty when unknown.
};

// Whether `text` is a 40-character Z85 string that decodes to 32 bytes.
bool IsCurveKeyZ85(std::string_view text);

// A fresh key pair from libzmq; nullopt if libzmq was built without CURVE.
std::optional<CurveKeyPair> GenerateCurveKeyPair();

// The secret file that goes with a public key file.
std::string CurveSecretFilePath(const std::string& public_path);

// Writes `public_path` (public key) and its secret file (both keys, mode
// 0600). Refuses to overwrite either file.
bool WriteCurveKeyFiles(const std::string& public_path,
                        const CurveKeyPair& pair, std::string& error);

// Reads a key file: `public-key` is required, `secret-key` is read when
// present (a secret file). Any malformed key is an error.
bool ReadCurveKeyFile(const std::string& path, CurveKeyPair& pair,
                      std::string& error);

}  // namespace wallet
