#include "app/dump_parse.h"

#include <gtest/gtest.h>

namespace medvault::app {
namespace {

std::vector<DumpColumnKind> Kinds(const ParsedDump& d) {
  std::vector<DumpColumnKind> out;
  for (const auto& c : d.columns) out.push_back(c.kind);
  return out;
}

using K = DumpColumnKind;

TEST(DumpParse, CommaSeparatedWithHeaderTypesColumnsByName) {
  const ParsedDump d = ParseDump(
      "nom,prenom,date_naissance,telephone,email\n"
      "Dupont,Jean,1980-03-14,06 12 34 56 78,jean.dupont@exemple.fr\n"
      "Leger,Eloise,1975-11-02,07 11 22 33 44,e.leger@exemple.fr\n");
  EXPECT_EQ(d.format, "csv");
  EXPECT_EQ(d.separator, ',');
  EXPECT_TRUE(d.header);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(Kinds(d), (std::vector<K>{K::kFamily, K::kGiven, K::kBirthDate, K::kPhone, K::kEmail}));
  EXPECT_EQ(d.rows[1][1], "Eloise");
}

TEST(DumpParse, SemicolonWithoutHeaderTypesColumnsByValue) {
  const ParsedDump d = ParseDump(
      "jean.dupont@exemple.fr;14/03/1980;Jean;DUPONT;+33612345678\n"
      "marie@x.fr;1/2/1990;Marie Claire;Le Gall;07.11.22.33.44\n");
  EXPECT_EQ(d.separator, ';');
  EXPECT_FALSE(d.header);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(Kinds(d), (std::vector<K>{K::kEmail, K::kBirthDate, K::kName, K::kName, K::kPhone}));
}

TEST(DumpParse, TabsPipesAndQuotes) {
  const ParsedDump tabs = ParseDump("a\tb\tc\n1\t2\t3\n");
  EXPECT_EQ(tabs.separator, '\t');
  const ParsedDump pipes = ParseDump("\"DUPONT\"|\"a|b\"|\"say \"\"hi\"\"\"\nX|Y|Z\n");
  EXPECT_EQ(pipes.separator, '|');
  ASSERT_EQ(pipes.rows.size(), 2u);
  EXPECT_EQ(pipes.rows[0][1], "a|b");
  EXPECT_EQ(pipes.rows[0][2], "say \"hi\"");
}

TEST(DumpParse, JsonLinesFlattenNestedAndFhirLikeFields) {
  const ParsedDump d = ParseDump(
      "{\"last_name\":\"Dupont\",\"first_name\":\"Jean\",\"dob\":\"1980/03/14\"}\n"
      "not json\n"
      "{\"name\":[{\"family\":\"Leger\",\"given\":[\"Eloise\",\"Anne\"]}],"
      "\"telecom\":[{\"system\":\"phone\",\"value\":\"0711223344\"}]}\n");
  EXPECT_EQ(d.format, "jsonl");
  EXPECT_EQ(d.unreadable_lines, 1u);
  ASSERT_EQ(d.rows.size(), 2u);
  std::map<std::string, std::pair<K, std::string>> by_header;
  for (size_t c = 0; c < d.columns.size(); ++c) {
    by_header[d.columns[c].header] = {d.columns[c].kind, d.rows[1][c]};
  }
  EXPECT_EQ(by_header["last_name"].first, K::kFamily);
  EXPECT_EQ(by_header["first_name"].first, K::kGiven);
  EXPECT_EQ(by_header["dob"].first, K::kBirthDate);
  EXPECT_EQ(by_header["name.given"].second, "Eloise Anne");
  EXPECT_EQ(by_header["telecom.phone"].first, K::kPhone);
}

TEST(DumpParse, ReadsBirthDatesInTheUsualFormats) {
  const Date want{1980, 3, 14};
  for (const char* text : {"1980-03-14", "1980/03/14", "14/03/1980", "14-03-1980", "14.03.1980",
                           "14031980", "19800314", "14/3/1980", "1980-03-14T00:00:00Z"}) {
    auto d = ReadLooseDate(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(*d, want) << text;
  }
  EXPECT_FALSE(ReadLooseDate("31/02/1980"));
  EXPECT_FALSE(ReadLooseDate("1980-03"));
  EXPECT_FALSE(ReadLooseDate("0612345678"));
}

TEST(DumpParse, ReadsNirsWithSpacesAndWithoutTheirKey) {
  // 1 80 03 75 056 001, key 97 - (1800375056001 mod 97).
  const std::string full = *ReadLooseNir("1 80 03 75 056 001 ");
  ASSERT_EQ(full.size(), 15u);
  EXPECT_EQ(ReadLooseNir(full), full);
  EXPECT_EQ(ReadLooseNir(full.substr(0, 13)), full);
  std::string wrong_key = full;
  wrong_key[14] = wrong_key[14] == '0' ? '1' : '0';
  EXPECT_FALSE(ReadLooseNir(wrong_key));
  EXPECT_FALSE(ReadLooseNir("0612345678"));
}

TEST(DumpParse, ReadsFrenchPhonesInNationalAndInternationalForms) {
  for (const char* text : {"06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78",
                           "+33 (0)6 12 34 56 78", "0033612345678", "612345678"}) {
    EXPECT_EQ(ReadLoosePhone(text), std::optional<std::string>("0612345678")) << text;
  }
  EXPECT_FALSE(ReadLoosePhone("+44 20 7946 0958"));
  EXPECT_FALSE(ReadLoosePhone("12345"));
}

TEST(DumpParse, EmailsFoldAsTheIndexFolds) {
  EXPECT_EQ(ReadLooseEmail("Jean.Dupont@Exemple.FR"),
            std::optional<std::string>("jeandupont@exemplefr"));
  EXPECT_FALSE(ReadLooseEmail("no at sign"));
  EXPECT_FALSE(ReadLooseEmail("a@b"));
}

TEST(DumpParse, AHeaderIsNeverTakenFromARowOfValues) {
  const ParsedDump d = ParseDump("Nom,1980-03-14\nDupont,1975-11-02\n");
  EXPECT_FALSE(d.header);
  EXPECT_EQ(d.rows.size(), 2u);
}

TEST(DumpParse, EmptyAndBlankInputsGiveNoRows) {
  EXPECT_TRUE(ParseDump("").rows.empty());
  EXPECT_TRUE(ParseDump(" \n\n").rows.empty());
}

}  // namespace
}  // namespace medvault::app
