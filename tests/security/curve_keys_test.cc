// Key files as `wallet-producer keygen` writes them and the worker and
// clients read them: real files in a temporary directory.
#include "common/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/test_env.h"

namespace wallet {
namespace {

using testing::TempDir;

TEST(CurveKeyFiles, RoundTripThroughThePublicAndTheSecretFile) {
  TempDir dir;
  const std::optional<CurveKeyPair> pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.has_value());
  const std::string path = dir.path() + "/game1.key";
  std::string error;
  ASSERT_TRUE(WriteCurveKeyFiles(path, *pair, error)) << error;

  CurveKeyPair public_only;
  ASSERT_TRUE(ReadCurveKeyFile(path, public_only, error)) << error;
  EXPECT_EQ(public_only.public_key, pair->public_key);
  EXPECT_TRUE(public_only.secret_key.empty());

  CurveKeyPair both;
  ASSERT_TRUE(ReadCurveKeyFile(CurveSecretFilePath(path), both, error))
      << error;
  EXPECT_EQ(both.public_key, pair->public_key);
  EXPECT_EQ(both.secret_key, pair->secret_key);

  struct stat info {};
  ASSERT_EQ(::stat(CurveSecretFilePath(path).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(CurveKeyFiles, NeverOverwriteAKey) {
  TempDir dir;
  const std::string path = dir.path() + "/worker.key";
  std::string error;
  ASSERT_TRUE(WriteCurveKeyFiles(path, *GenerateCurveKeyPair(), error));
  EXPECT_FALSE(WriteCurveKeyFiles(path, *GenerateCurveKeyPair(), error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(CurveKeyFiles, RefuseMalformedAndMismatchedKeys) {
  TempDir dir;
  const CurveKeyPair a = *GenerateCurveKeyPair();
  const CurveKeyPair b = *GenerateCurveKeyPair();
  const std::string path = dir.path() + "/key";
  CurveKeyPair read;
  std::string error;

  WriteText(path, "curve\n    public-key = \"short\"\n");
  EXPECT_FALSE(ReadCurveKeyFile(path, read, error));
  EXPECT_NE(error.find(":2: public-key is not a 40-character Z85 key"),
            std::string::npos)
      << error;

  WriteText(path, "# no key at all\n");
  EXPECT_FALSE(ReadCurveKeyFile(path, read, error));
  EXPECT_NE(error.find("no public-key"), std::string::npos) << error;

  WriteText(path, "curve\n    public-key = \"" + a.public_key +
                      "\"\n    secret-key = \"" + b.secret_key + "\"\n");
  EXPECT_FALSE(ReadCurveKeyFile(path, read, error));
  EXPECT_NE(error.find("does not match its public key"), std::string::npos)
      << error;

  EXPECT_FALSE(ReadCurveKeyFile(dir.path() + "/absent", read, error));
  EXPECT_NE(error.find("cannot read key file"), std::string::npos) << error;
}

}  // namespace
}  // namespace wallet
