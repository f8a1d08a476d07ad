#include <gtest/gtest.h>

#include <filesystem>

#include "core/ids.h"
#include "core/testing/temp_dir.h"
#include "crypto/master_key.h"
#include "store/sqlite/sqlite_store.h"
#include "vault/keyring.h"
#include "vault/nir.h"
#include "vault/patients.h"

namespace medvault::vault {
namespace {

TEST(Nir, AcceptsValidKeysIncludingCorsicaOverseasAndNia) {
  EXPECT_TRUE(ValidateNir("255081416802538").ok());
  EXPECT_TRUE(ValidateNir("2 55 08 14 168 025 38").ok());
  EXPECT_TRUE(ValidateNir("184022A00401073").ok());   // Corse-du-Sud counts as 19
  EXPECT_TRUE(ValidateNir("184022b03301006").ok());   // Haute-Corse counts as 18, any case
  EXPECT_TRUE(ValidateNir("284029741103340").ok());   // La Réunion (974)
  EXPECT_EQ(NirControlKey("7840220004010"), 97 - static_cast<int>(7840220004010ULL % 97));
}

TEST(Nir, RejectsWrongKeyAndShapeNamingTheProblem) {
  EXPECT_EQ(ValidateNir("255081416802539").message(), "invalid NIR control key");
  EXPECT_EQ(ValidateNir("25508141680253").message(), "must be 15 characters (13 + control key)");
  EXPECT_EQ(ValidateNir("555081416802538").message(), "invalid first digit (sex)");
  EXPECT_EQ(ValidateNir("255131416802538").message(), "invalid birth month");
  EXPECT_EQ(ValidateNir("255082C16802538").message(), "invalid département");
}

Patient Sample(const std::string& family, const std::string& given, const std::string& nir) {
  Patient p;
  p.identity.family = family;
  p.identity.given = {given};
  p.identity.gender = "female";
  p.identity.birth_date = Date{1969, 2, 1};
  p.contact.addresses.push_back({{"12 rue des Lilas"}, "49300", "Cholet"});
  p.contact.telecom.push_back({"phone", "06 12 34 56 78"});
  p.insurance.nir = nir;
  p.insurance.regime = "01";
  return p;
}

class VaultFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(master_.Clone()); }

  void Open(crypto::SecretKey master) {
    patients_.reset();
    keyring_.reset();
    data_.reset();
    keys_.reset();
    data_ = store::OpenSqliteDataStore(dir_.Sub("medvault.db"), {}).value();
    keys_ = store::OpenSqliteKeyStore(dir_.Sub("keys.db"), {}).value();
    keyring_ = std::make_unique<Keyring>(*keys_, std::move(master), *random_);
    ASSERT_TRUE(keyring_->InitVault().ok());
    patients_ = std::make_unique<Patients>(*data_, *keys_, *keyring_, clock_, *random_);
  }

  std::string AddPractice() {
    const std::string id = NewId(*random_);
    EXPECT_TRUE(keyring_->CreatePracticeKeys(id).ok());
    EXPECT_TRUE(data_->CreatePractice({id, "Cabinet", 0}).ok());
    return id;
  }

  testing::TempDir dir_;
  crypto::SecretKey master_ = crypto::SecretKey::Generate();
  FakeClock clock_{1'700'000'000'000'000};
  std::unique_ptr<Random> random_ = NewSystemRandom();
  std::unique_ptr<store::DataStore> data_;
  std::unique_ptr<store::KeyStore> keys_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<Patients> patients_;
};

constexpr FieldGroupMask kAll = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                MaskOf(FieldGroup::kInsurance);

TEST_F(VaultFixture, CreatedPatientReadsBackOnlyTheGroupsAskedFor) {
  const std::string practice = AddPractice();
  auto created = patients_->Create(practice, Sample("Léger", "Élise", "255081416802538"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto all = patients_->Read(practice, created->id, kAll);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->identity, created->identity);
  EXPECT_EQ(all->contact, created->contact);
  EXPECT_EQ(all->insurance, created->insurance);
  auto identity_only = patients_->Read(practice, created->id, MaskOf(FieldGroup::kIdentity));
  EXPECT_EQ(identity_only->identity.family, "Léger");
  EXPECT_TRUE(identity_only->contact.telecom.empty());
  EXPECT_TRUE(identity_only->insurance.nir.empty());
}

TEST_F(VaultFixture, AnotherPracticesPatientIsNotFound) {
  const std::string a = AddPractice();
  const std::string b = AddPractice();
  auto created = patients_->Create(a, Sample("Martin", "Anne", ""));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(patients_->Read(b, created->id, kAll).status().code(), Code::kNotFound);
}

TEST_F(VaultFixture, SearchMatchesFoldedValuesAndConfirmsByDecryption) {
  const std::string practice = AddPractice();
  ASSERT_TRUE(patients_->Create(practice, Sample("Dupont-Léger", "Zoé", "")).ok());
  ASSERT_TRUE(patients_->Create(practice, Sample("Dupont", "Zoe", "255081416802538")).ok());
  PatientQuery q;
  q.family = "DUPONT LEGER";
  auto page = patients_->Search(practice, q, 0, 20, kAll);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->patients.size(), 1u);
  EXPECT_EQ(page->patients[0].identity.family, "Dupont-Léger");
  q = {};
  q.given = "zoe";
  q.birth_date = Date{1969, 2, 1};
  EXPECT_EQ(patients_->Search(practice, q, 0, 20, kAll)->patients.size(), 2u);
  q = {};
  q.nir = "2 55 08 14 168 025 38";
  EXPECT_EQ(patients_->Search(practice, q, 0, 20, kAll)->patients.size(), 1u);
  q = {};
  q.family = "Durand";
  EXPECT_TRUE(patients_->Search(practice, q, 0, 20, kAll)->patients.empty());
}

TEST_F(VaultFixture, ListPagesInOrderWithACursor) {
  const std::string practice = AddPractice();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(patients_->Create(practice, Sample("Nom" + std::to_string(i), "A", "")).ok());
  }
  auto first = patients_->List(practice, 0, 2, MaskOf(FieldGroup::kIdentity));
  ASSERT_EQ(first->patients.size(), 2u);
  ASSERT_TRUE(first->next_cursor.has_value());
  auto second = patients_->List(practice, *first->next_cursor, 3, MaskOf(FieldGroup::kIdentity));
  ASSERT_EQ(second->patients.size(), 3u);
  EXPECT_FALSE(second->next_cursor.has_value());
  EXPECT_EQ(second->patients[0].identity.family, "Nom2");
}

TEST_F(VaultFixture, CiphertextMovedToAnotherPatientOrGroupFailsWithOneOpaqueError) {
  const std::string practice = AddPractice();
  auto a = *patients_->Create(practice, Sample("Martin", "Anne", ""));
  auto b = *patients_->Create(practice, Sample("Bernard", "Paul", ""));
  auto row_a = *data_->GetPatient(practice, a.id);
  auto row_b = *data_->GetPatient(practice, b.id);
  // A's identity envelope pasted into B's row, then into B's contact column.
  store::PatientRow forged = row_b;
  forged.identity = row_a.identity;
  ASSERT_TRUE(data_->UpdatePatient(forged, {}).ok());
  auto r = patients_->Read(practice, b.id, MaskOf(FieldGroup::kIdentity));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(), "integrity: cannot open");
  forged = row_a;
  forged.contact = row_a.identity;
  ASSERT_TRUE(data_->UpdatePatient(forged, {}).ok());
  r = patients_->Read(practice, a.id, MaskOf(FieldGroup::kContact));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(), "integrity: cannot open");
}

TEST_F(VaultFixture, ShreddedPatientCannotBeOpenedFromACopyTakenBefore) {
  const std::string practice = AddPractice();
  auto p = *patients_->Create(practice, Sample("Martin", "Anne", ""));
  auto before = *data_->GetPatient(practice, p.id);  // a backup of the data, taken before
  ASSERT_TRUE(patients_->Shred(practice, p.id).ok());
  EXPECT_EQ(data_->GetPatient(practice, p.id).status().code(), Code::kNotFound);
  auto opened = patients_->Open(before, kAll);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotFound);  // no key exists any more
  // Nor after a restart with a cold cache.
  Open(master_.Clone());
  EXPECT_FALSE(patients_->Open(before, kAll).ok());
}

TEST_F(VaultFixture, RotationRewrapsKeysAndNeverReencryptsData) {
  const std::string practice = AddPractice();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(patients_->Create(practice, Sample("Nom" + std::to_string(i), "A", ""))->id);
  }
  std::vector<store::PatientRow> before;
  for (const auto& id : ids) before.push_back(*data_->GetPatient(practice, id));
  const auto key_before = *keys_->GetPatientKey(practice, ids[0]);

  crypto::SecretKey new_master = crypto::SecretKey::Generate();
  crypto::SecretKey kept = new_master.Clone();
  ASSERT_TRUE(keyring_->RotateMaster(std::move(new_master)).ok());
  auto version = keyring_->RotatePracticeKek(practice);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2u);

  // Reopen with the new master only: everything opens, every envelope is byte-identical.
  Open(std::move(kept));
  for (size_t i = 0; i < ids.size(); ++i) {
    auto row = *data_->GetPatient(practice, ids[i]);
    EXPECT_EQ(row.identity, before[i].identity);
    EXPECT_EQ(row.contact, before[i].contact);
    EXPECT_EQ(row.insurance, before[i].insurance);
    auto p = patients_->Read(practice, ids[i], kAll);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->identity.family, "Nom" + std::to_string(i));
  }
  EXPECT_NE(keys_->GetPatientKey(practice, ids[0])->wrapped_dek, key_before.wrapped_dek);
  // The old master opens nothing any more.
  Keyring old(*keys_, crypto::SecretKey::Generate(), *random_);
  EXPECT_FALSE(old.CheckMasterKey().ok());
}

TEST_F(VaultFixture, ImportIsAllOrNothing) {
  const std::string practice = AddPractice();
  std::vector<Patient> input = {Sample("Un", "A", "255081416802538"), Sample("Deux", "B", ""),
                                Sample("Trois", "C", "255081416802539")};  // bad key
  size_t next = 0;
  auto source = [&]() -> Result<std::optional<Patient>> {
    if (next == input.size()) return std::optional<Patient>();
    return std::optional<Patient>(input[next++]);
  };
  auto r = patients_->Import(practice, source);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "entry 3: identifier[0].value: invalid NIR control key");
  EXPECT_EQ(*data_->CountPatients(practice), 0);
  // A NIR repeated within the input, or already in the practice, is refused too.
  input = {Sample("Un", "A", "255081416802538"), Sample("Deux", "B", "255081416802538")};
  next = 0;
  EXPECT_EQ(patients_->Import(practice, source).status().message(),
            "entry 2: identifier[0].value: same NIR as an earlier entry");
  input = {Sample("Un", "A", "255081416802538")};
  next = 0;
  ASSERT_EQ(*patients_->Import(practice, source), 1);
  next = 0;
  EXPECT_EQ(patients_->Import(practice, source).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(*data_->CountPatients(practice), 1);
}

}  // namespace
}  // namespace medvault::vault
