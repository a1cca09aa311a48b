'use strict';
// Parses a MIME message with mailparser (nodemailer's parser) and prints what it found as JSON, in the same shape
// as ../scripts/parse_email.py. Usage: node parse.js MESSAGE_FILE   (install first: npm ci --prefix <this folder>)
const fs = require('fs');
const { simpleParser } = require('mailparser');

function addresses(header) {
    if (!header) return null;
    const list = Array.isArray(header) ? header : [header];
    return list.flatMap(h => h.value).map(a => ({ address: a.address, name: a.name || null }));
}

async function main() {
    const parsed = await simpleParser(fs.readFileSync(process.argv[2]), {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipImageLinks: true,
        skipTextLinks: true,
    });
    const result = {
        subject: parsed.subject === undefined ? null : parsed.subject,
        from: addresses(parsed.from),
        to: addresses(parsed.to),
        cc: addresses(parsed.cc),
        reply_to: addresses(parsed.replyTo),
        bcc_present: parsed.headers.has('bcc'),
        text: parsed.text === undefined ? null : parsed.text,
        html: parsed.html === false || parsed.html === undefined ? null : parsed.html,
        attachments: parsed.attachments.map(a => ({
            filename: a.filename === undefined ? null : a.filename,
            content_type: a.contentType,
            content: a.content.toString('base64'),
            content_id: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
            disposition: a.contentDisposition || null,
        })),
        defects: [],
    };
    process.stdout.write(JSON.stringify(result));
}

main().catch(err => {
    process.stderr.write(String(err && err.stack || err) + '\n');
    process.exit(1);
});
