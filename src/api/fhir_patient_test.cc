#include "api/fhir_patient.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace medvault::api {
namespace {

using nlohmann::json;

// 1 84 12 75 056 007 → key 97 - (1841275056007 mod 97).
constexpr const char* kNir = "184127505600774";

json FullPatient() {
  return json::parse(R"({
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "184127505600774"}],
    "name": [{"family": "Martin", "given": ["Jeanne", "Marie"]}],
    "gender": "female",
    "birthDate": "1984-12-03",
    "telecom": [{"system": "phone", "value": "+33 6 12 34 56 78"},
                {"system": "email", "value": "j.martin@example.org"}],
    "address": [{"line": ["3 rue des Lilas"], "postalCode": "75011", "city": "Paris"}],
    "extension": [{"url": "urn:medvault:regime", "valueCode": "01"},
                  {"url": "urn:medvault:birthplace", "valueCode": "75056"}],
    "active": true,
    "meta": {"versionId": "1"}
  })");
}

constexpr FieldGroupMask kAll = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                MaskOf(FieldGroup::kInsurance);

std::string DecodeError(const json& j) {
  Result<vault::Patient> p = PatientFromFhir(j);
  EXPECT_FALSE(p.ok());
  return p.ok() ? std::string() : p.status().message();
}

TEST(FhirPatient, DecodesEveryMappedField) {
  Result<vault::Patient> p = PatientFromFhir(FullPatient());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->identity.family, "Martin");
  EXPECT_EQ(p->identity.given, (std::vector<std::string>{"Jeanne", "Marie"}));
  EXPECT_EQ(p->identity.gender, "female");
  ASSERT_TRUE(p->identity.birth_date.has_value());
  EXPECT_EQ(FormatDate(*p->identity.birth_date), "1984-12-03");
  EXPECT_EQ(p->identity.birthplace, "75056");
  EXPECT_EQ(p->insurance.nir, kNir);
  EXPECT_EQ(p->insurance.regime, "01");
  ASSERT_EQ(p->contact.telecom.size(), 2u);
  EXPECT_EQ(p->contact.telecom[1].system, "email");
  ASSERT_EQ(p->contact.addresses.size(), 1u);
  EXPECT_EQ(p->contact.addresses[0].city, "Paris");
}

TEST(FhirPatient, EncodeThenDecodeRoundTrips) {
  Result<vault::Patient> p = PatientFromFhir(FullPatient());
  ASSERT_TRUE(p.ok());
  Result<vault::Patient> again = PatientFromFhir(PatientToFhir(*p, kAll));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*p, *again);
}

TEST(FhirPatient, EncodeOmitsGroupsNotAsked) {
  Result<vault::Patient> p = PatientFromFhir(FullPatient());
  ASSERT_TRUE(p.ok());
  json only_identity = PatientToFhir(*p, MaskOf(FieldGroup::kIdentity));
  EXPECT_TRUE(only_identity.contains("name"));
  EXPECT_FALSE(only_identity.contains("identifier"));
  EXPECT_FALSE(only_identity.contains("telecom"));
  EXPECT_FALSE(only_identity.contains("address"));
  json none = PatientToFhir(*p, 0);
  EXPECT_EQ(none.size(), 2u);  // resourceType and id
}

TEST(FhirPatient, InvalidNirKeyNamesTheFieldNotTheValue) {
  json j = FullPatient();
  j["identifier"][0]["value"] = "184127505600772";
  const std::string msg = DecodeError(j);
  EXPECT_EQ(msg, "identifier[0].value: invalid NIR control key");
  EXPECT_EQ(msg.find("1841275"), std::string::npos);
}

TEST(FhirPatient, ImpossibleBirthDateNamesTheField) {
  json j = FullPatient();
  j["birthDate"] = "2023-02-30";
  EXPECT_EQ(DecodeError(j), "birthDate: impossible date");
  j["birthDate"] = "3 March";
  EXPECT_EQ(DecodeError(j), "birthDate: not a date of the form YYYY-MM-DD");
}

TEST(FhirPatient, WrongJsonKindsNameTheField) {
  struct Case {
    const char* member;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"name", "Martin", "name: must be an array"},
      {"identifier", json::object(), "identifier: must be an array"},
      {"telecom", 3, "telecom: must be an array"},
      {"address", "Paris", "address: must be an array"},
      {"gender", 1, "gender: must be a string"},
      {"birthDate", 1984, "birthDate: must be a string"},
      {"extension", true, "extension: must be an array"},
      {"active", "yes", "active: must be a boolean"},
      {"meta", "x", "meta: must be an object"},
  };
  for (const Case& c : cases) {
    json j = FullPatient();
    j[c.member] = c.value;
    EXPECT_EQ(DecodeError(j), c.message) << c.member;
  }
}

TEST(FhirPatient, NestedWrongKindsNameThePath) {
  json j = FullPatient();
  j["name"][0]["given"] = "Jeanne";
  EXPECT_EQ(DecodeError(j), "name[0].given: must be an array");
  j = FullPatient();
  j["name"][0]["given"][1] = 7;
  EXPECT_EQ(DecodeError(j), "name[0].given[1]: must be a string");
  j = FullPatient();
  j["address"][0]["line"][0] = json::object();
  EXPECT_EQ(DecodeError(j), "address[0].line[0]: must be a string");
  j = FullPatient();
  j["telecom"][1] = "x";
  EXPECT_EQ(DecodeError(j), "telecom[1]: must be an object");
  j = FullPatient();
  j["identifier"][0]["value"] = 184127505600774LL;
  EXPECT_EQ(DecodeError(j), "identifier[0].value: must be a string");
  j = FullPatient();
  j["extension"][0]["valueCode"] = 1;
  EXPECT_EQ(DecodeError(j), "extension[urn:medvault:regime].valueCode: must be a string");
}

TEST(FhirPatient, ValidationErrorsNameTheField) {
  json j = FullPatient();
  j["name"][0].erase("family");
  EXPECT_EQ(DecodeError(j), "name[0].family: required");
  j = FullPatient();
  j.erase("name");
  EXPECT_EQ(DecodeError(j), "name[0].family: required");
  j = FullPatient();
  j["gender"] = "f";
  EXPECT_EQ(DecodeError(j), "gender: must be male, female, other or unknown");
  j = FullPatient();
  j["address"][0]["postalCode"] = "7501";
  EXPECT_EQ(DecodeError(j), "address[0].postalCode: must be 5 digits");
  j = FullPatient();
  j["telecom"][0]["system"] = "fax";
  EXPECT_EQ(DecodeError(j), "telecom[0].system: must be phone or email");
  j = FullPatient();
  j["extension"][0]["valueCode"] = "1";
  EXPECT_EQ(DecodeError(j), "extension[urn:medvault:regime].valueCode: must be two digits");
  j = FullPatient();
  j["identifier"][0]["value"] = "18412";
  EXPECT_EQ(DecodeError(j), "identifier[0].value: must be 15 characters (13 + control key)");
}

TEST(FhirPatient, UnknownMembersAreRejectedByName) {
  json j = FullPatient();
  j["favouriteColour"] = "blue";
  EXPECT_EQ(DecodeError(j), "favouriteColour: unknown field");
  j = FullPatient();
  j["Jeanne Martin 1984"] = 1;  // a member name that is not safe to echo
  EXPECT_EQ(DecodeError(j), "member: unknown field");
}

TEST(FhirPatient, RejectsOtherResourceTypesAndNonObjects) {
  json j = FullPatient();
  j["resourceType"] = "Practitioner";
  EXPECT_EQ(DecodeError(j), "resourceType: must be Patient");
  EXPECT_EQ(DecodeError(json::array()), "Patient: must be a JSON object");
}

TEST(FhirPatient, IgnoresForeignIdentifierSystems) {
  json j = FullPatient();
  j["identifier"].push_back({{"system", "urn:example:mrn"}, {"value", "42"}});
  Result<vault::Patient> p = PatientFromFhir(j);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->insurance.nir, kNir);
}

}  // namespace
}  // namespace medvault::api
