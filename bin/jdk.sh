# Sourced by bin/ scripts: finds a JDK >= 25 and exports JAVA_HOME.
# Order: $JAVA_HOME, the `java` on PATH, then /usr/lib/jvm/*.
cm3leon_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n 1 | cut -d. -f1
}
cm3leon_find_jdk() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for d in /usr/lib/jvm/*; do [ -d "$d" ] && candidates+=("$d"); done
  local best="" best_major=0 c major
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major=$(cm3leon_java_major "$c")
    [ -n "$major" ] || continue
    if [ "$major" -ge 25 ]; then
      # The first acceptable candidate wins: an explicit JAVA_HOME or PATH choice is respected.
      best="$c"; best_major=$major; break
    fi
  done
  if [ -z "$best" ]; then
    echo "cm3leon: no JDK 25 or newer found (looked at JAVA_HOME, java on PATH, /usr/lib/jvm/*). Install one, e.g. Temurin 25." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}
cm3leon_mvn() {
  # The Maven wrapper fetches a pinned Maven from Maven Central; a local `mvn` serves if the wrapper is absent.
  local root="$1"; shift
  if [ -x "$root/mvnw" ]; then "$root/mvnw" -f "$root/pom.xml" "$@"; else mvn -f "$root/pom.xml" "$@"; fi
}
