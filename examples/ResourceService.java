// A resource service in Java, the JDK only (17+): `java examples/ResourceService.java`.
// It verifies the identity server's access tokens with the published JWKS (RFC 9068 checks) and
// follows its revocation stream (the README's rules), so a logout there is a 401 here at once,
// with no call per request. IDENTITY_URL, ISSUER, CLIENT_ID, CLIENT_SECRET, PORT (3005), MAX_STALENESS (5).
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

public class ResourceService {
  static final String IDENTITY = env("IDENTITY_URL", "http://127.0.0.1:3000"), ISSUER = env("ISSUER", IDENTITY);
  static final long MAX_STALENESS_MS = (long) (Double.parseDouble(env("MAX_STALENESS", "5")) * 1000);
  static final String CLIENT = Base64.getEncoder().encodeToString((System.getenv("CLIENT_ID") + ":" + System.getenv("CLIENT_SECRET")).getBytes(StandardCharsets.UTF_8));
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
  static final Map<String, PublicKey> keys = new ConcurrentHashMap<>();
  static final Map<String, Map<String, Object>> revoked = new ConcurrentHashMap<>(); // "kind:value" -> entry
  static volatile boolean current = false; // caught up since the last connection
  static volatile long heard = 0; // when the stream last spoke (ms, monotonic)
  static volatile java.io.InputStream open; // the stream being read, closed if it stalls

  static String env(String name, String fallback) { String value = System.getenv(name); return value == null ? fallback : value; }
  static long now() { return System.nanoTime() / 1_000_000; }

  // The JWKS's public keys (never an HMAC secret), by kid: fetched at start and for an unknown kid.
  @SuppressWarnings("unchecked")
  static synchronized void fetchKeys() throws Exception {
    var body = HTTP.send(HttpRequest.newBuilder(URI.create(IDENTITY + "/.well-known/jwks.json")).build(), HttpResponse.BodyHandlers.ofString()).body();
    for (var jwk : (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(body)).get("keys")) {
      var x = (String) jwk.get("x");
      switch ((String) jwk.get("kty")) {
        case "OKP" -> keys.put((String) jwk.get("kid"), KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(HexFormat.of().parseHex("302a300506032b6570032100"), b64(x)))));
        case "EC" -> {
          var params = java.security.AlgorithmParameters.getInstance("EC");
          params.init(new ECGenParameterSpec("secp256r1"));
          var point = new ECPoint(new BigInteger(1, b64(x)), new BigInteger(1, b64((String) jwk.get("y"))));
          keys.put((String) jwk.get("kid"), KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, params.getParameterSpec(ECParameterSpec.class))));
        }
        case "RSA" -> keys.put((String) jwk.get("kid"), KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(new BigInteger(1, b64((String) jwk.get("n"))), new BigInteger(1, b64((String) jwk.get("e"))))));
        default -> { }
      }
    }
  }

  static byte[] b64(String text) { return Base64.getUrlDecoder().decode(text); }
  static byte[] concat(byte[] a, byte[] b) { var out = Arrays.copyOf(a, a.length + b.length); System.arraycopy(b, 0, out, a.length, b.length); return out; }

  /** The claims of a valid access token, or an exception whose message says why not. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> verify(String token) throws Exception {
    var parts = token.split("\\.");
    if (parts.length != 3) throw new Exception("malformed token");
    var header = (Map<String, Object>) Json.parse(new String(b64(parts[0]), StandardCharsets.UTF_8));
    if (!"at+jwt".equals(header.get("typ"))) throw new Exception("not an access token");
    var alg = (String) header.get("alg");
    var algorithm = Map.of("EdDSA", "Ed25519", "ES256", "SHA256withECDSAinP1363Format", "RS256", "SHA256withRSA").get(alg == null ? "" : alg);
    if (algorithm == null) throw new Exception("algorithm not allowed");
    var kid = (String) header.get("kid");
    if (kid == null) throw new Exception("no kid");
    if (!keys.containsKey(kid)) fetchKeys(); // a key published since
    var key = keys.get(kid);
    if (key == null) throw new Exception("unknown key");
    var signature = Signature.getInstance(algorithm);
    signature.initVerify(key);
    signature.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
    if (!signature.verify(b64(parts[2]))) throw new Exception("bad signature");
    var claims = (Map<String, Object>) Json.parse(new String(b64(parts[1]), StandardCharsets.UTF_8));
    double seconds = System.currentTimeMillis() / 1000.0, leeway = 5;
    for (var name : List.of("exp", "iat", "sub", "jti", "client_id")) if (!claims.containsKey(name)) throw new Exception("no " + name);
    if (!ISSUER.equals(claims.get("iss"))) throw new Exception("wrong issuer");
    var aud = claims.get("aud");
    if (!(ISSUER.equals(aud) || (aud instanceof List<?> list && list.contains(ISSUER)))) throw new Exception("wrong audience");
    if ((double) claims.get("exp") + leeway <= seconds) throw new Exception("expired");
    if (claims.get("nbf") instanceof Double nbf && nbf - leeway > seconds) throw new Exception("not yet valid");
    claims.put("kid", kid);
    return claims;
  }

  static boolean isRevoked(Map<String, Object> claims) {
    double nowMs = System.currentTimeMillis();
    for (var kind : List.of("jti", "sid", "kid", "sub")) {
      var entry = revoked.get(kind + ":" + claims.get(kind));
      if (entry == null || (double) entry.get("expires_at") <= nowMs) continue;
      // sub: the subject's tokens issued before revoked_before (iat in seconds, the entry in ms)
      if (!kind.equals("sub") || (double) claims.get("iat") * 1000 < (double) entry.get("revoked_before")) return true;
    }
    return false;
  }

  /** Follows the stream for ever: the entries in force, then each new one; heartbeats make the copy current. */
  @SuppressWarnings("unchecked")
  static void follow() {
    String lastId = null;
    while (true) {
      try {
        var request = HttpRequest.newBuilder(URI.create(IDENTITY + "/revocations/stream")).header("authorization", "Basic " + CLIENT).header("accept", "text/event-stream");
        if (lastId != null) request.header("last-event-id", lastId);
        var response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) throw new Exception("the stream answered " + response.statusCode());
        heard = now();
        var reader = new BufferedReader(new InputStreamReader(open = response.body(), StandardCharsets.UTF_8));
        String event = null, id = null, line;
        var data = new StringBuilder();
        while ((line = reader.readLine()) != null) {
          heard = now();
          if (line.startsWith(":")) current = true; // a heartbeat: whatever came before it is in
          else if (line.isEmpty()) { // the end of an event
            if ("revocation".equals(event) && data.length() > 0) {
              var entry = (Map<String, Object>) Json.parse(data.toString());
              revoked.merge(entry.get("kind") + ":" + entry.get("value"), entry, (old, next) -> { // the strictest of two
                for (var field : List.of("expires_at", "revoked_before")) if (old.get(field) instanceof Double a && next.get(field) instanceof Double b) next.put(field, Math.max(a, b));
                return next;
              });
            }
            if (id != null) lastId = id;
            event = null; id = null; data.setLength(0);
          } else {
            int colon = line.indexOf(':');
            var field = colon < 0 ? line : line.substring(0, colon);
            var value = colon < 0 ? "" : line.substring(colon + 1).replaceFirst("^ ", "");
            switch (field) {
              case "event" -> event = value;
              case "data" -> data.append(data.length() > 0 ? "\n" : "").append(value);
              case "id" -> id = value;
              default -> { }
            }
          }
        }
      } catch (Exception error) {
        System.err.println("revocation stream: " + error);
      }
      open = null;
      current = false;
      try { Thread.sleep(1000); } catch (InterruptedException stop) { return; }
    }
  }

  static void answer(HttpExchange exchange, int status, String json) throws java.io.IOException {
    exchange.getResponseHeaders().set("content-type", "application/json");
    if (status == 401) exchange.getResponseHeaders().set("www-authenticate", "Bearer error=\"invalid_token\"");
    var bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (var body = exchange.getResponseBody()) { body.write(bytes); }
  }

  public static void main(String[] args) throws Exception {
    fetchKeys();
    var follower = new Thread(ResourceService::follow);
    follower.setDaemon(true);
    follower.start();
    // A stream silent for 3 s (six heartbeats: a stall, not a close) is given up and opened again.
    Executors.newSingleThreadScheduledExecutor(task -> { var thread = new Thread(task); thread.setDaemon(true); return thread; })
        .scheduleAtFixedRate(() -> {
          var stream = open;
          if (stream != null && now() - heard > 3000) try { stream.close(); } catch (java.io.IOException ignored) { }
        }, 500, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
    var server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(env("PORT", "3005"))), 0);
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.createContext("/orders", exchange -> {
      var authorization = Optional.ofNullable(exchange.getRequestHeaders().getFirst("authorization")).orElse("");
      Map<String, Object> claims;
      try {
        claims = verify(authorization.replaceFirst("^Bearer ", ""));
      } catch (Exception error) {
        answer(exchange, 401, "{\"code\":\"token_invalid\",\"detail\":" + Json.quote(String.valueOf(error.getMessage())) + "}");
        return;
      }
      // Bound to a client's key (DPoP): this service checks no proofs, so never a bearer token.
      if (claims.containsKey("cnf")) { answer(exchange, 401, "{\"code\":\"token_invalid\",\"detail\":\"DPoP-bound token\"}"); return; }
      // The copy may be missing revocations: refuse, never accept blindly.
      if (!current || now() - heard > MAX_STALENESS_MS) { answer(exchange, 503, "{\"code\":\"store_unavailable\"}"); return; }
      if (isRevoked(claims)) { answer(exchange, 401, "{\"code\":\"token_revoked\"}"); return; }
      var name = claims.getOrDefault("name", claims.get("sub"));
      answer(exchange, 200, "{\"for\":" + Json.quote(String.valueOf(name)) + ",\"orders\":[{\"id\":1,\"item\":\"book\"}]}");
    });
    server.start();
    System.out.println("orders service (Java) listening on http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Just enough JSON: objects, arrays, strings, numbers (as doubles), booleans, null. */
  static final class Json {
    private final String text;
    private int at;
    private Json(String text) { this.text = text; }
    static Object parse(String text) { var json = new Json(text); var value = json.value(); json.space(); if (json.at != text.length()) throw new IllegalArgumentException("trailing JSON"); return value; }
    static String quote(String text) { var out = new StringBuilder("\""); for (char c : text.toCharArray()) out.append(c == '"' || c == '\\' ? "\\" + c : c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c)); return out.append('"').toString(); }
    private void space() { while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++; }
    private Object value() {
      space();
      char c = text.charAt(at);
      if (c == '{') { at++; var object = new LinkedHashMap<String, Object>(); space(); if (text.charAt(at) == '}') { at++; return object; }
        do { space(); var key = string(); space(); expect(':'); object.put(key, value()); space(); } while (text.charAt(at++) == ',');
        if (text.charAt(at - 1) != '}') throw new IllegalArgumentException("bad object"); return object; }
      if (c == '[') { at++; var array = new ArrayList<Object>(); space(); if (text.charAt(at) == ']') { at++; return array; }
        do { array.add(value()); space(); } while (text.charAt(at++) == ',');
        if (text.charAt(at - 1) != ']') throw new IllegalArgumentException("bad array"); return array; }
      if (c == '"') return string();
      for (var literal : List.of("true", "false", "null")) if (text.startsWith(literal, at)) { at += literal.length(); return literal.equals("null") ? null : Boolean.valueOf(literal); }
      int start = at;
      while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
      return Double.parseDouble(text.substring(start, at));
    }
    private void expect(char c) { if (text.charAt(at++) != c) throw new IllegalArgumentException("expected " + c); }
    private String string() {
      expect('"');
      var out = new StringBuilder();
      for (char c; (c = text.charAt(at++)) != '"'; ) {
        if (c != '\\') { out.append(c); continue; }
        char e = text.charAt(at++);
        out.append(switch (e) { case 'n' -> '\n'; case 't' -> '\t'; case 'r' -> '\r'; case 'b' -> '\b'; case 'f' -> '\f';
          case 'u' -> { char u = (char) Integer.parseInt(text.substring(at, at + 4), 16); at += 4; yield u; } default -> e; });
      }
      return out.toString();
    }
  }
}
