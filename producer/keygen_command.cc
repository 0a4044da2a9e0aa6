// `keygen`: writes a fresh CURVE key pair for a worker or a client.

#include <cstdio>
#include <string>
#include <vector>

#include "common/curve_keys.h"
#include "producer/commands.h"

namespace wallet::producer {
namespace {

constexpr CommandHelp kHelp = {
    "keygen",
    "--out PATH",
    "Writes a new CURVE key pair: PATH holds the public key (hand it to the "
    "other side), PATH_secret both keys (mode 0600, keep it). Refuses to "
    "overwrite either file. Give the worker its _secret file with "
    "--curve-key; give a client's public key to the worker's clients file, "
    "and the client its own _secret file with --client-key "
    "(docs/security.md).",
};

std::vector<Flag> KeygenFlags(KeygenOptions& options) {
  return {
      RequiredStringFlag("out", "PATH", "Where to write the public key file.",
                         &options.out),
  };
}

}  // namespace

int RunKeygen(const ProgramContext& /*context*/, std::span<char* const> args) {
  KeygenOptions options;
  const std::vector<Flag> flags = KeygenFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }
  const std::optional<CurveKeyPair> pair = GenerateCurveKeyPair();
  if (!pair) {
    PrintError("keygen", "this libzmq was built without CURVE");
    return kExitFailure;
  }
  std::string error;
  if (!WriteCurveKeyFiles(options.out, *pair, error)) {
    PrintError("keygen", error);
    return kExitFailure;
  }
  std::printf(
      "wrote %s (public key) and %s (secret key, mode 0600)\n"
      "public-key %s\n"
      "clients file line: NAME %s send=SOURCE subscribe query\n",
      options.out.c_str(), CurveSecretFilePath(options.out).c_str(),
      pair->public_key.c_str(), pair->public_key.c_str());
  return kExitOk;
}

}  // namespace wallet::producer
