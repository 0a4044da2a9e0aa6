#include "worker/access_list.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/curve_keys.h"
#include "common/validate.h"

namespace wallet {
namespace {

constexpr std::string_view kSendPrefix = "send=";

std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < line.size()) {
    const std::size_t start = line.find_first_not_of(" \t\r", at);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find_first_of(" \t\r", start);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  return words;
}

// Reads `send=a,b,c` into `client`; returns what is wrong, or empty.
std::string ParseSend(std::string_view list, ClientRights& client) {
  if (client.any_source || !client.sources.empty()) {
    return "send= given twice";
  }
  if (list == "*") {
    client.any_source = true;
    return {};
  }
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t end = list.find(',', at);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view source = list.substr(at, end - at);
    if (!IsValidSource(source)) {
      return "'" + std::string(source) +
             "' is not a source (1..64 bytes of [A-Za-z0-9._:@-])";
    }
    if (std::find(client.sources.begin(), client.sources.end(), source) ==
        client.sources.end()) {
      client.sources.emplace_back(source);
    }
    at = end + 1;
  }
  if (client.sources.size() > kAccessSourcesPerClientMax) {
    return "more than " + std::to_string(kAccessSourcesPerClientMax) +
           " sources";
  }
  return {};
}

// Parses one client line; returns what is wrong, or empty.
std::string ParseClient(const std::vector<std::string_view>& words,
                        ClientRights& client) {
  if (words.size() < 3) {
    return "want: NAME PUBLIC-KEY RIGHT... (rights: send=SOURCE,... "
           "subscribe query)";
  }
  if (!IsValidSource(words[0])) {
    return "name '" + std::string(words[0]) +
           "' must be 1..64 bytes of [A-Za-z0-9._:@-]";
  }
  client.name = words[0];
  if (!IsCurveKeyZ85(words[1])) {
    return "'" + std::string(words[1]) +
           "' is not a 40-character Z85 public key";
  }
  client.public_key = words[1];
  for (std::size_t i = 2; i < words.size(); ++i) {
    const std::string_view right = words[i];
    if (right.starts_with(kSendPrefix)) {
      std::string problem = ParseSend(right.substr(kSendPrefix.size()), client);
      if (!problem.empty()) return problem;
    } else if (right == "subscribe") {
      client.subscribe = true;
    } else if (right == "query") {
      client.query = true;
    } else {
      return "unknown right '" + std::string(right) +
             "' (want send=SOURCE,..., send=*, subscribe or query)";
    }
  }
  return {};
}

}  // namespace

std::string_view SocketRoleName(SocketRole role) {
  switch (role) {
    case SocketRole::kCommands:
      return "commands";
    case SocketRole::kEvents:
      return "events";
    case SocketRole::kQueries:
      return "queries";
  }
  return "unknown";
}

bool ClientRights::MaySendAs(std::string_view source) const {
  return any_source ||
         std::find(sources.begin(), sources.end(), source) != sources.end();
}

bool ClientRights::MayUse(SocketRole role) const {
  switch (role) {
    case SocketRole::kCommands:
      return MaySend();
    case SocketRole::kEvents:
      return subscribe;
    case SocketRole::kQueries:
      return query;
  }
  return false;
}

std::unique_ptr<AccessList> AccessList::Load(const std::string& path,
                                             std::string& error) {
  std::ifstream file(path);
  if (!file) {
    error = "cannot read the clients file " + path;
    return nullptr;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return Parse(text.str(), path, error);
}

std::unique_ptr<AccessList> AccessList::Parse(std::string_view text,
                                              std::string_view origin,
                                              std::string& error) {
  std::unique_ptr<AccessList> list(new AccessList());
  std::vector<std::size_t> line_of;  // Line number of each client.
  std::size_t line_number = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    const std::vector<std::string_view> words = SplitWords(line);
    if (words.empty() || words[0].starts_with('#')) continue;

    ClientRights client;
    std::string problem = ParseClient(words, client);
    if (problem.empty() && list->clients_.size() == kAccessClientsMax) {
      problem = "more than " + std::to_string(kAccessClientsMax) + " clients";
    }
    if (!problem.empty()) {
      error = std::string(origin) + ":" + std::to_string(line_number) + ": " +
              problem;
      return nullptr;
    }
    list->clients_.push_back(std::move(client));
    line_of.push_back(line_number);
  }
  if (list->clients_.empty()) {
    error = std::string(origin) + ": lists no client";
    return nullptr;
  }
  // The vector is final: views into its strings stay valid from here on.
  for (std::size_t i = 0; i < list->clients_.size(); ++i) {
    const ClientRights& client = list->clients_[i];
    const auto [by_name, new_name] = list->by_name_.emplace(client.name, i);
    const auto [by_key, new_key] = list->by_key_.emplace(client.public_key, i);
    if (!new_name || !new_key) {
      const std::size_t first = new_name ? by_key->second : by_name->second;
      error = std::string(origin) + ":" + std::to_string(line_of[i]) +
              ": client " + client.name + " repeats the " +
              (new_name ? "public key" : "name") + " of line " +
              std::to_string(line_of[first]);
      return nullptr;
    }
  }
  return list;
}

const ClientRights* AccessList::FindByKey(std::string_view public_key) const {
  const auto it = by_key_.find(public_key);
  return it == by_key_.end() ? nullptr : &clients_[it->second];
}

const ClientRights* AccessList::FindByName(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &clients_[it->second];
}

}  // namespace wallet
