#include "app/breach_notify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/breach.h"
#include "app/log_writer_lock.h"
#include "app/vault_context.h"
#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_log_store.h"
#include "audit/verify.h"

namespace medvault::app {
namespace {

PatientExposure Exposed(const std::string& id, const std::string& practice, FieldGroupMask groups,
                        uint64_t categories = 0) {
  PatientExposure p;
  p.id = id;
  p.practice = practice;
  p.field_groups = groups;
  p.note_categories = categories;
  p.first_access = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z
  p.last_access = 1'800'000'000'000'000 + 3'600'000'000;
  p.accesses = 3;
  return p;
}

constexpr FieldGroupMask kIdContact = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);

Scope TwoPracticeScope() {
  Scope scope;
  scope.logins = {"dr.stolen", "sec.stolen"};
  scope.tree_size = 42;
  scope.accounts = {{"dr.stolen", "pracA", 10, 2}, {"sec.stolen", "pracB", 4, 1}};
  scope.patients = {
      Exposed("patA1", "pracA", kIdContact),
      Exposed("patA2", "pracA", kIdContact | MaskOf(FieldGroup::kNotes) |
                                    MaskOf(FieldGroup::kInsurance),
              (uint64_t{1} << 0) | (uint64_t{1} << 1)),  // hiv_sti, mental_health
      Exposed("patB1", "pracB", MaskOf(FieldGroup::kIdentity)),
  };
  PatientExposure canary = Exposed("canaryA", "pracA", kIdContact);
  canary.canary = true;
  scope.canaries = {canary};
  return scope;
}

constexpr const char* kController = R"({
  "default": {"name": "Cabinet <Dupont> & Fils", "address": "1 rue de la Paix, 75002 Paris",
              "contact_name": "Mme Claire Martin", "contact_email": "dpo@cabinet.example",
              "contact_phone": "01 23 45 67 89", "finess": "750000001"},
  "pracB": {"name": "Centre de santé B", "contact_name": "M. Paul Durand",
            "contact_role": "responsable de la sécurité", "contact_email": "rssi@centre.example"},
  "incident": {"discovered_at": "2027-01-16T09:30:00Z", "measures_taken": ["Comptes bloqués"]}
})";

class BreachNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("scope.json"), ScopeToJson(TwoPracticeScope())).ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("controller.json"), kController).ok());
  }
  int Notify(const std::string& out_dir, std::string data = "", std::string controller = "") {
    NotifyOptions o;
    o.scope_file = dir_.Sub("scope.json");
    o.controller_file = controller.empty() ? dir_.Sub("controller.json") : controller;
    o.out_dir = out_dir;
    o.data_dir = std::move(data);
    std::ostringstream out;
    err_.str("");
    return RunBreachNotify(o, out, err_);
  }
  std::string Read(const std::string& path) {
    Result<std::string> content = ReadFile(path);
    return content.ok() ? *content : "<missing " + path + ">";
  }

  testing::TempDir dir_;
  std::ostringstream err_;
};

void ExpectAll(const std::string& doc, const std::vector<std::string>& needles,
               const std::string& what) {
  for (const std::string& n : needles) {
    EXPECT_NE(doc.find(n), std::string::npos) << what << " lacks «" << n << "»";
  }
}

TEST_F(BreachNotify, CnilNotificationHoldsEveryArticle33Element) {
  const Scope scope = TwoPracticeScope();
  NotifyConfig config = *ParseNotifyConfig(kController);
  const Document doc = CnilNotification(scope, "pracA", config.controllers["default"],
                                        config.incident, "2027-01-16T10:00:00Z");
  ExpectAll(doc.text,
            {// (a) nature, categories and approximate numbers of people and records
             "Nature de la violation", "violation de la confidentialité",
             "Nombre de personnes concernées : 2", "Nombre d'enregistrements concernés : 6",
             "identité", "coordonnées", "NIR", "notes médicales", "VIH / IST (art. 9 RGPD) : 1",
             "santé mentale (art. 9 RGPD) : 1", "dr.stolen",
             "du 15/01/2027 à 08:00 UTC au 15/01/2027 à 09:00 UTC",
             // (b) contact point
             "Mme Claire Martin", "dpo@cabinet.example", "01 23 45 67 89",
             // (c) likely consequences
             "Conséquences probables", "Hameçonnage", "Usurpation d'identité",
             "numéro de sécurité sociale", "données de santé",
             // (d) measures taken and proposed
             "Mesures prises", "Comptes bloqués", "Mesures proposées", "Réinitialiser",
             // art. 34 and the time of awareness
             "16/01/2027 à 09:30 UTC", "2 courriers individuels", "1 dossier(s) leurre(s)"},
            "notification of pracA");
  // Only this practice: nothing of the other one.
  EXPECT_EQ(doc.text.find("sec.stolen"), std::string::npos);
  EXPECT_EQ(doc.text.find("patB1"), std::string::npos);
  // The controller's name is escaped in HTML, not in text.
  EXPECT_NE(doc.text.find("Cabinet <Dupont> & Fils"), std::string::npos);
  EXPECT_NE(doc.html.find("Cabinet &lt;Dupont&gt; &amp; Fils"), std::string::npos);
  EXPECT_EQ(doc.html.find("<Dupont>"), std::string::npos);
}

TEST_F(BreachNotify, HealthIncidentReportHoldsTheFormFields) {
  NotifyConfig config = *ParseNotifyConfig(kController);
  const Document doc = HealthIncidentReport(TwoPracticeScope(), "pracA",
                                            config.controllers["default"], config.incident,
                                            "2027-01-16T10:00:00Z");
  ExpectAll(doc.text,
            {"Structure concernée et déclarant", "Numéro FINESS : 750000001", "Déclarant",
             "Date du constat : 16/01/2027 à 09:30 UTC", "Date de début de l'incident",
             "Périmètre", "Systèmes d'information concernés", "Données concernées",
             "État de la prise en charge", "Sur les données", "Sur les personnes",
             "Sur les systèmes d'information", "Sur la structure", "Causes", "Mesures prises",
             "CERT Santé"},
            "incident report");
}

TEST_F(BreachNotify, LetterSaysInPlainFrenchWhatOfThatPatientWasExposed) {
  NotifyConfig config = *ParseNotifyConfig(kController);
  const Scope scope = TwoPracticeScope();
  const Document sensitive =
      PatientLetter(scope.patients[1], config.controllers["default"], std::nullopt, "2027-01-16T10:00:00Z");
  ExpectAll(sensitive.text,
            {"patA2", "votre identité", "vos coordonnées", "numéro de sécurité sociale",
             "notes écrites par un soignant", "le VIH ou une infection sexuellement transmissible",
             "votre santé mentale", "consulté 3 fois", "Ce que cela peut entraîner",
             "hameçonnage", "usurper votre identité", "Méfiez-vous", "mots de passe",
             "cybermalveillance.gouv.fr", "réclamation auprès de la CNIL", "www.cnil.fr/plaintes",
             "Mme Claire Martin", "dpo@cabinet.example"},
            "letter of patA2");
  const Document plain =
      PatientLetter(scope.patients[0], config.controllers["default"], std::nullopt, "2027-01-16T10:00:00Z");
  EXPECT_EQ(plain.text.find("sécurité sociale pourrait"), std::string::npos);
  EXPECT_EQ(plain.text.find("notes écrites"), std::string::npos);
  EXPECT_EQ(plain.text.find("santé mentale"), std::string::npos);
  EXPECT_EQ(plain.text.find("patA2"), std::string::npos);
  Addressee to{"Zoé <b>O'Brien</b>", {"3 allée des Tilleuls", "69001 Lyon"}};
  const Document addressed =
      PatientLetter(scope.patients[0], config.controllers["default"], to, "2027-01-16T10:00:00Z");
  EXPECT_NE(addressed.text.find("Zoé <b>O'Brien</b>"), std::string::npos);
  EXPECT_NE(addressed.html.find("Zoé &lt;b&gt;O&#39;Brien&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(addressed.html.find("<b>"), std::string::npos);
  EXPECT_NE(addressed.html.find("69001 Lyon"), std::string::npos);
}

TEST_F(BreachNotify, WritesPerPracticeDocumentsAndOneLetterPerRealPatientOnly) {
  const std::string out = dir_.Sub("out");
  ASSERT_EQ(Notify(out), 0) << err_.str();
  EXPECT_EQ(*FileMode(out), 0700u);
  for (const char* practice : {"pracA", "pracB"}) {
    for (const char* file : {"cnil-notification.txt", "cnil-notification.html",
                             "signalement-sante.txt", "signalement-sante.html"}) {
      const std::string path = out + "/" + practice + "/" + file;
      ASSERT_TRUE(FileMode(path).ok()) << path;
      EXPECT_EQ(*FileMode(path), 0600u) << path;
    }
  }
  EXPECT_NE(Read(out + "/pracB/cnil-notification.txt").find("M. Paul Durand"), std::string::npos);
  EXPECT_NE(Read(out + "/pracB/cnil-notification.txt").find("responsable de la sécurité"),
            std::string::npos);
  const Scope scope = TwoPracticeScope();
  std::vector<std::string> letters;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
    if (e.path().parent_path().filename() == "letters") letters.push_back(e.path().filename());
  }
  std::sort(letters.begin(), letters.end());
  EXPECT_EQ(letters, (std::vector<std::string>{"patA1.html", "patA1.txt", "patA2.html",
                                               "patA2.txt", "patB1.html", "patB1.txt"}));
  // No letter names another patient (nor a canary).
  for (const PatientExposure& p : scope.patients) {
    for (const char* ext : {".txt", ".html"}) {
      const std::string letter = Read(out + "/" + p.practice + "/letters/" + p.id + ext);
      EXPECT_NE(letter.find(p.id), std::string::npos);
      for (const PatientExposure& other : scope.patients) {
        if (other.id != p.id) {
          EXPECT_EQ(letter.find(other.id), std::string::npos) << p.id;
        }
      }
      EXPECT_EQ(letter.find("canaryA"), std::string::npos);
    }
  }
  // An existing output is never overwritten.
  EXPECT_EQ(Notify(out), 1);
  EXPECT_NE(err_.str().find("--out"), std::string::npos);
}

TEST_F(BreachNotify, BadInputIsNamed) {
  ASSERT_TRUE(WriteFileAtomic(dir_.Sub("nocontact.json"),
                              R"({"default": {"name": "Cabinet", "contact_name": "X"}})")
                  .ok());
  EXPECT_EQ(Notify(dir_.Sub("o1"), "", dir_.Sub("nocontact.json")), 1);
  EXPECT_NE(err_.str().find("has no contact point"), std::string::npos) << err_.str();
  ASSERT_TRUE(WriteFileAtomic(dir_.Sub("typo.json"), R"({"default": {"contact_mail": "x"}})").ok());
  EXPECT_EQ(Notify(dir_.Sub("o2"), "", dir_.Sub("typo.json")), 1);
  EXPECT_NE(err_.str().find("default.contact_mail: unknown key"), std::string::npos) << err_.str();
  ASSERT_TRUE(WriteFileAtomic(dir_.Sub("scope.json"), "{\"query\": 3}").ok());
  EXPECT_EQ(Notify(dir_.Sub("o3")), 1);
  EXPECT_NE(err_.str().find("--scope: query: expected an object"), std::string::npos) << err_.str();
  EXPECT_FALSE(PathExists(dir_.Sub("o3")));
}

// With the vault: letters carry the patient's name and address, decrypted in memory, and the
// disclosure is an access leaf in the log, which still verifies.
TEST(BreachNotifyWithVault, AddressesLettersAndRecordsTheDisclosure) {
  testing::TempDir dir;
  ASSERT_TRUE(InitVault(dir.Sub("v"), {}).ok());
  auto ctx = VaultContext::Open(dir.Sub("v"));
  ASSERT_TRUE(ctx.ok());
  const std::string practice = *(*ctx)->AddPractice("Cabinet des Lilas");
  std::vector<vault::Patient> created;
  for (const char* family : {"Lefèvre", "Bonnaire"}) {
    vault::Patient p;
    p.identity.family = family;
    p.identity.given = {"Anaïs"};
    p.identity.gender = "female";
    p.contact.addresses = {{{"12 rue des Écoles"}, "75005", "Paris"}};
    auto made = (*ctx)->patients().Create(practice, p);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    created.push_back(*made);
  }
  Scope scope;
  scope.tree_size = 0;
  scope.patients = {Exposed(created[0].id, practice, kIdContact),
                    Exposed(created[1].id, practice, kIdContact)};
  std::sort(scope.patients.begin(), scope.patients.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("scope.json"), ScopeToJson(scope)).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Sub("c.json"), R"({"default": {"contact_name": "Dr DPO",
      "contact_phone": "0102030405"}})").ok());
  NotifyOptions o{dir.Sub("scope.json"), dir.Sub("c.json"), dir.Sub("out"), dir.Sub("v")};
  std::ostringstream out, err;
  {
    // While the vault is served (the server holds the log lock), --data is refused.
    auto lock = LogWriterLock::Acquire(**ctx);
    ASSERT_TRUE(lock.ok());
    EXPECT_EQ(RunBreachNotify(o, out, err), 1);
    EXPECT_NE(err.str().find("being served"), std::string::npos) << err.str();
    EXPECT_FALSE(PathExists(dir.Sub("out")));
  }
  ASSERT_EQ(RunBreachNotify(o, out, err), 0) << err.str();
  for (size_t i = 0; i < created.size(); ++i) {
    const std::string letter = *ReadFile(dir.Sub("out") + "/" + practice + "/letters/" +
                                         created[i].id + ".txt");
    EXPECT_NE(letter.find("À l'attention de Anaïs " + created[i].identity.family),
              std::string::npos)
        << letter;
    EXPECT_NE(letter.find("12 rue des Écoles"), std::string::npos);
    EXPECT_NE(letter.find("75005 Paris"), std::string::npos);
    EXPECT_NE(letter.find("Cabinet des Lilas"), std::string::npos);
    EXPECT_EQ(letter.find(created[1 - i].identity.family), std::string::npos);
    EXPECT_EQ(letter.find(created[1 - i].id), std::string::npos);
  }
  // The disclosure is in the log, attributed, and the log verifies.
  ScopeQuery q;
  q.data_dir = dir.Sub("v");
  q.logins = {"cli:breach-notify"};
  auto log = store::OpenSqliteLogStore((*ctx)->LogPath());
  Result<Scope> recorded = ComputeScope(**ctx, **log, q);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  ASSERT_EQ(recorded->patients.size(), 2u);
  EXPECT_EQ(recorded->patients[0].field_groups, kIdContact);
}

}  // namespace
}  // namespace medvault::app
