// Deterministic synthetic memories for the benchmarks: pseudo-English words, tags and importances.
//
// 5,000 words of 2-3 syllables built from ~30 onsets x 10 vowels x 10 codas, so their trigrams are about as
// varied as English ones (a tiny syllable set would make every trigram common and flatter no index).
// A memory holds 8-16 words drawn uniformly, so any one word occurs in about 0.24 % of memories: a content
// search for a word is a query of medium selectivity. Tags: 2 of 200. Same seed, same text.
#pragma once

#include <algorithm>
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace memtrace::bench {

class Corpus {
 public:
  static constexpr std::size_t kWords = 5000;
  static constexpr std::size_t kTags = 200;

  // `tags`: how many distinct tags memories draw from (at most kTags).
  explicit Corpus(unsigned seed, std::size_t tags = kTags) : rng_(seed) {
    static const char* kOnsets[] = {"b",  "c",  "d",  "f",  "g",  "h",  "j",  "k",  "l",  "m",  "n",
                                    "p",  "r",  "s",  "t",  "v",  "w",  "z",  "br", "ch", "cl", "cr",
                                    "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "qu"};
    static const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou"};
    static const char* kCodas[] = {"", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"};
    std::mt19937 make(12345);  // the vocabulary is fixed whatever the seed
    auto pick = [&make](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(make); };
    std::set<std::string> seen;
    while (words_.size() < kWords) {
      std::string word;
      for (int s = 2 + static_cast<int>(pick(2)); s > 0; --s) {
        word += kOnsets[pick(std::size(kOnsets))];
        word += kVowels[pick(std::size(kVowels))];
        word += kCodas[pick(std::size(kCodas))];
      }
      if (seen.insert(word).second) words_.push_back(word);
    }
    for (std::size_t i = 0; i < std::min(tags, kTags); ++i)
      tags_.push_back((i % 2 ? "topic-" : "customer:") + std::to_string(i));
  }

  // "Noted during run 17: word word word ..." (about 60-150 bytes).
  std::string content() {
    std::string text = "Noted during run " + std::to_string(counter_++) + ":";
    for (int i = std::uniform_int_distribution<int>(8, 16)(rng_); i > 0; --i) text += " " + word();
    return text;
  }
  // `n` words and nothing else.
  std::string words(int n) {
    std::string text = word();
    while (--n > 0) text += " " + word();
    return text;
  }
  // One or two distinct tags.
  std::vector<std::string> tags() {
    std::vector<std::string> out = {tag()};
    if (std::string second = tag(); second != out[0]) out.push_back(second);
    return out;
  }
  double importance() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  std::string word() {
    return words_[std::uniform_int_distribution<std::size_t>(0, words_.size() - 1)(rng_)];
  }
  std::string tag() { return tags_[std::uniform_int_distribution<std::size_t>(0, tags_.size() - 1)(rng_)]; }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  std::vector<std::string> words_;
  std::vector<std::string> tags_;
  long counter_ = 0;
};

}  // namespace memtrace::bench
