'use strict';
// Verifies the DKIM signatures of the message on stdin with mailauth and prints one JSON object per signature:
// [{"result":"pass","info":"dkim=pass ...","comment":...}]. Usage: node verify.js RECORDS_JSON
// RECORDS_JSON maps DNS names to TXT texts ({"sel._domainkey.example.org": "v=DKIM1; k=rsa; p=..."}); other names
// do not exist. Install first: npm ci --prefix <this folder>
const { dkimVerify } = require('mailauth/lib/dkim/verify');

const records = JSON.parse(process.argv[2]);

async function resolver(name, rr) {
    const text = records[name.toLowerCase()];
    if (rr !== 'TXT' || text === undefined) {
        const err = new Error(`queryTxt ENOTFOUND ${name}`);
        err.code = 'ENOTFOUND';
        throw err;
    }
    const chunks = [];
    for (let i = 0; i < text.length; i += 255) chunks.push(text.slice(i, i + 255));
    return [chunks];
}

async function main() {
    const input = [];
    for await (const chunk of process.stdin) input.push(chunk);
    const result = await dkimVerify(Buffer.concat(input), { resolver });
    const out = result.results.map(r => ({
        result: r.status.result,
        info: r.info,
        comment: r.status.comment || null,
    }));
    process.stdout.write(JSON.stringify(out));
}

main().catch(err => {
    process.stderr.write(String(err && err.stack || err) + '\n');
    process.exit(1);
});
