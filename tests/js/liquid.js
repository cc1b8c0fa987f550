// Renders a Braze message the way Braze would for one user: reads {"template", "context"} as
// JSON on stdin, prints the result. brazejs knows Braze's `${...}` tags and its filters but
// returns hmac_sha256_hex's input unchanged, so that filter is registered here.
"use strict";
const crypto = require("crypto");
const Liquid = require("brazejs");

const engine = new Liquid();
engine.registerFilter("hmac_sha256_hex", (value, key) =>
  crypto.createHmac("sha256", String(key)).update(String(value)).digest("hex"),
);

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { template, context } = JSON.parse(input);
  engine.parseAndRender(template, context).then(
    (out) => process.stdout.write(out),
    (error) => {
      process.stderr.write(String(error && error.stack ? error.stack : error));
      process.exit(1);
    },
  );
});
