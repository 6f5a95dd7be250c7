#include "vmsync/model/storage_nodes.hpp"

#include <doctest/doctest.h>

using namespace vmsync::model;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;
using List = std::vector<std::string>;

TEST_CASE("expand_kubelet: references") {
  const Env env{{"A", "x"}, {"ADDR", "s-0:8400,s-1:8400"}, {"EMPTY", ""}};
  CHECK(expand_kubelet("$(A)", env) == "x");
  CHECK(expand_kubelet("--storageNode=$(ADDR)", env) == "--storageNode=s-0:8400,s-1:8400");
  CHECK(expand_kubelet("$(A)$(A)-$(A)", env) == "xx-x");
  CHECK(expand_kubelet("[$(EMPTY)]", env) == "[]");
  CHECK(expand_kubelet("", env) == "");
  CHECK(expand_kubelet("plain", env) == "plain");
}

TEST_CASE("expand_kubelet: undefined references stay literal") {
  const Env env{{"A", "x"}};
  CHECK(expand_kubelet("$(B)", env) == "$(B)");
  CHECK(expand_kubelet("$(B)$(A)", env) == "$(B)x");
  CHECK(expand_kubelet("$()", env) == "$()");
  CHECK(expand_kubelet("$(a b)", env) == "$(a b)");
}

TEST_CASE("expand_kubelet: $$ escapes") {
  const Env env{{"A", "x"}};
  CHECK(expand_kubelet("$$", env) == "$");
  CHECK(expand_kubelet("$$(A)", env) == "$(A)");
  CHECK(expand_kubelet("$$$(A)", env) == "$x");
  CHECK(expand_kubelet("$$$$(A)", env) == "$$(A)");
  CHECK(expand_kubelet("a$$b", env) == "a$b");
}

TEST_CASE("expand_kubelet: operators that do not start an expression") {
  const Env env{{"A", "x"}};
  CHECK(expand_kubelet("$", env) == "$");
  CHECK(expand_kubelet("a$", env) == "a$");
  CHECK(expand_kubelet("$A", env) == "$A");
  CHECK(expand_kubelet("$(A", env) == "$(A");       // unterminated
  CHECK(expand_kubelet("$(A$(A)", env) == "$(A$(A)"); // reference name "A$(A" is undefined
  CHECK(expand_kubelet("$($(A)", env) == "$($(A)");
  CHECK(expand_kubelet("$(", env) == "$(");
  CHECK(expand_kubelet("$($$)", env) == "$($$)");
  CHECK(expand_kubelet("${A}", env) == "${A}");
}

TEST_CASE("expand_kubelet: values are not expanded again") {
  const Env env{{"A", "$(B)"}, {"B", "y"}};
  CHECK(expand_kubelet("$(A)", env) == "$(B)");
}

TEST_CASE("kubelet_references") {
  CHECK(kubelet_references("--storageNode=$(ADDR),$(MORE)") == List{"ADDR", "MORE"});
  CHECK(kubelet_references("$$(ESCAPED) $(REAL) $(UNTERMINATED") == List{"REAL"});
  CHECK(kubelet_references("none").empty());
}

TEST_CASE("expand_vm_env: %{ENV}") {
  const Env env{{"NS", "mon"}, {"foo.bar_1", "baz"}, {"foo-bar_2", "test"}, {"EMPTY", ""}};
  CHECK(expand_vm_env("s-0.s.%{NS}:8400", env) == "s-0.s.mon:8400");
  CHECK(expand_vm_env("%{foo.bar_1}", env) == "baz");
  CHECK(expand_vm_env("qq.%{foo-bar_2}.ww", env) == "qq.test.ww");
  CHECK(expand_vm_env("[%{EMPTY}]", env) == "[]");
  CHECK(expand_vm_env("", env) == "");
  CHECK(expand_vm_env("%{UNSET}", env) == "%{UNSET}");
  CHECK(expand_vm_env("%{x y}", env) == "%{x y}");
  CHECK(expand_vm_env("%{123}", env) == "%{123}");
  CHECK(expand_vm_env("%{NS", env) == "%{NS");
  CHECK(expand_vm_env("%NS}", env) == "%NS}");
  CHECK(expand_vm_env("$(NS)", env) == "$(NS)");
}

TEST_CASE("expand_vm_env: values are expanded recursively, self references terminate") {
  CHECK(expand_vm_env("%{a}", Env{{"a", "x%{b}"}, {"b", "y%{c}"}, {"c", "1"}}) == "xy1");
  const auto loop = expand_vm_env("%{a}", Env{{"a", "x%{a}"}});
  CHECK(loop.starts_with("x"));
  CHECK(loop.ends_with("%{a}"));
}

TEST_CASE("vm_env_references") {
  CHECK(vm_env_references("%{A},%{x y},%{B}") == List{"A", "B"});
}

TEST_CASE("split_list keeps empty entries") {
  CHECK(split_list("a,b") == List{"a", "b"});
  CHECK(split_list("a") == List{"a"});
  CHECK(split_list("") == List{""});
  CHECK(split_list("a,,b") == List{"a", "", "b"});
  CHECK(split_list(",a,") == List{"", "a", ""});
}

TEST_CASE("find_storage_nodes: one comma-joined flag") {
  auto l = find_storage_nodes({"/vminsert-prod", "-storageNode=a:8400,b:8400", "-replicationFactor=1"}, {});
  REQUIRE(l);
  CHECK(l->entries == List{"a:8400", "b:8400"});
  CHECK(l->source.kind == FlagSource::Kind::Args);
  CHECK(l->source.arg_indexes == std::vector<std::size_t>{1});
  CHECK(l->source.value_indexes == std::vector<std::size_t>{1});
  CHECK(l->source.comma_joined);
  CHECK_FALSE(l->discovery);
}

TEST_CASE("find_storage_nodes: repeated flags append, both dash forms, = or next argument") {
  auto l = find_storage_nodes(
      {"--storageNode=a:8400", "-storageNode", "b:8400", "--storageNode", "c:8400,d:8400", "-storageNode=e:8400"}, {});
  REQUIRE(l);
  CHECK(l->entries == List{"a:8400", "b:8400", "c:8400", "d:8400", "e:8400"});
  CHECK(l->source.arg_indexes == std::vector<std::size_t>{0, 1, 3, 5});
  CHECK(l->source.value_indexes == std::vector<std::size_t>{0, 2, 4, 5});
  CHECK(l->source.comma_joined);

  auto one_each = find_storage_nodes({"-storageNode=a", "-storageNode=b"}, {});
  REQUIRE(one_each);
  CHECK_FALSE(one_each->source.comma_joined);
}

TEST_CASE("find_storage_nodes: a separate value is taken whatever it looks like") {
  auto l = find_storage_nodes({"-storageNode", "-weird"}, {});
  REQUIRE(l);
  CHECK(l->entries == List{"-weird"});
}

TEST_CASE("find_storage_nodes: empty and duplicate entries are kept") {
  auto l = find_storage_nodes({"-storageNode=a,,a", "-storageNode="}, {});
  REQUIRE(l);
  CHECK(l->entries == List{"a", "", "a", ""});
}

TEST_CASE("find_storage_nodes: nothing to find") {
  CHECK_FALSE(find_storage_nodes({}, {}));
  CHECK_FALSE(find_storage_nodes({"/vminsert", "-httpListenAddr=:8480"}, {}));
  CHECK_FALSE(find_storage_nodes({"-storagenode=a"}, {}));     // flag names are case-sensitive
  CHECK_FALSE(find_storage_nodes({"---storageNode=a"}, {}));   // bad flag syntax
  CHECK_FALSE(find_storage_nodes({"-storageNodeX=a"}, {}));
  CHECK_FALSE(find_storage_nodes({"-storageNode"}, {}));       // no value
  CHECK_FALSE(find_storage_nodes({"--", "-storageNode=a"}, {})); // after "--" nothing is a flag
  CHECK_FALSE(find_storage_nodes({"storageNode=a"}, {}));
}

TEST_CASE("find_storage_nodes: %{ENV} in flag values") {
  auto l = find_storage_nodes({"-storageNode=s-0.s.%{NS}:8400,%{MORE}"}, Env{{"NS", "mon"}, {"MORE", "x:1,y:2"}});
  REQUIRE(l);
  CHECK(l->entries == List{"s-0.s.mon:8400", "x:1", "y:2"});
  auto unset = find_storage_nodes({"-storageNode=%{NOPE}"}, {});
  REQUIRE(unset);
  CHECK(unset->entries == List{"%{NOPE}"});
}

TEST_CASE("find_storage_nodes: envflag") {
  const Env env{{"VM_storageNode", "a:8400,b:8400"}, {"storageNode", "plain:8400"}};
  SUBCASE("enabled with prefix") {
    auto l = find_storage_nodes({"-envflag.enable", "-envflag.prefix=VM_"}, env);
    REQUIRE(l);
    CHECK(l->entries == List{"a:8400", "b:8400"});
    CHECK(l->source.kind == FlagSource::Kind::EnvFlag);
    CHECK(l->source.env_name == "VM_storageNode");
    CHECK(l->source.comma_joined);
    CHECK(l->source.arg_indexes.empty());
  }
  SUBCASE("prefix as a separate argument, --form, =true") {
    auto l = find_storage_nodes({"--envflag.enable=true", "--envflag.prefix", "VM_"}, env);
    REQUIRE(l);
    CHECK(l->source.env_name == "VM_storageNode");
  }
  SUBCASE("no prefix") {
    auto l = find_storage_nodes({"-envflag.enable=1"}, env);
    REQUIRE(l);
    CHECK(l->entries == List{"plain:8400"});
  }
  SUBCASE("disabled or not enabled: env is ignored") {
    CHECK_FALSE(find_storage_nodes({"-envflag.prefix=VM_"}, env));
    CHECK_FALSE(find_storage_nodes({"-envflag.enable=false", "-envflag.prefix=VM_"}, env));
    CHECK_FALSE(find_storage_nodes({"-envflag.enable=nonsense", "-envflag.prefix=VM_"}, env));
  }
  SUBCASE("the command line wins over env") {
    auto l = find_storage_nodes({"-envflag.enable", "-envflag.prefix=VM_", "-storageNode=c:8400"}, env);
    REQUIRE(l);
    CHECK(l->entries == List{"c:8400"});
    CHECK(l->source.kind == FlagSource::Kind::Args);
  }
  SUBCASE("enabled but unset") {
    CHECK_FALSE(find_storage_nodes({"-envflag.enable", "-envflag.prefix=OTHER_"}, env));
  }
  SUBCASE("%{ENV} inside the env value") {
    auto l = find_storage_nodes({"-envflag.enable"}, Env{{"storageNode", "s.%{NS}:8400"}, {"NS", "mon"}});
    REQUIRE(l);
    CHECK(l->entries == List{"s.mon:8400"});
  }
}

TEST_CASE("find_storage_nodes: srv+ and file: mean discovery") {
  auto srv = find_storage_nodes({"-storageNode=srv+vmstorage.mon.svc"}, {});
  REQUIRE(srv);
  CHECK(srv->discovery);
  auto file = find_storage_nodes({"-storageNode=a:8400", "-storageNode=file:/etc/vm/nodes"}, {});
  REQUIRE(file);
  CHECK(file->discovery);
  auto env = find_storage_nodes({"-envflag.enable"}, Env{{"storageNode", "srv+x"}});
  REQUIRE(env);
  CHECK(env->discovery);
  CHECK_FALSE(find_storage_nodes({"-storageNode=srv:8400"}, {})->discovery);
}
