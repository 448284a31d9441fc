/// The live dashboard at `GET /`: one self-contained HTML page (no external scripts, fonts
/// or styles) that polls `GET /status` every second and draws the members and their states,
/// the ring as a circle of partitions coloured by owner (faded while the owner is not
/// alive; an inner circle for the owners
/// partitions are moving to), handoffs with progress bars, hints pending per target, and
/// small charts of the command rate and GET/SET p99 latency, derived from the cumulative
/// counters and histogram counts in /status. Warnings show as a banner.
///
/// Stable hooks for tests: `tr.member[data-id][data-status]`, `path.partition[data-owner]`,
/// `#updated[data-polls]`, `tr.transfer`, `tr.hint`, `#warnings li`.
enum Dashboard {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chorus</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 18px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}
header span{opacity:.8}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:14px;padding:14px}
section{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08);overflow-x:auto}
h2{font-size:14px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#5a6275}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;font-variant-numeric:tabular-nums}
th{color:#5a6275;font-weight:600}
.st{display:inline-block;padding:0 6px;border-radius:9px;color:#fff;font-size:12px}
.alive{background:#2e9d5b}.suspect{background:#d89b1a}.dead{background:#c63d3d}.left{background:#7b8194}
#warnings{margin:0;padding:8px 18px;background:#fff3cd;color:#6b4e00;list-style:none}
#warnings:empty{display:none}
.bar{background:#e7e9ee;border-radius:4px;height:10px;width:140px;overflow:hidden}
.bar>div{background:#3b7ddd;height:100%}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}
.muted{color:#8a90a0}
svg text{font:11px system-ui,sans-serif;fill:#5a6275}
</style></head>
<body>
<header><h1>Chorus</h1><span id="node">connecting…</span><span id="ringv"></span><span id="uptime"></span>
<span id="updated" data-polls="0"></span></header>
<ul id="warnings"></ul>
<main>
<section><h2>Members</h2><table><thead><tr><th>node</th><th>state</th><th>admin</th><th>partitions</th><th>inc.</th><th>client</th></tr></thead>
<tbody id="members"></tbody></table></section>
<section><h2>Ring</h2><svg id="ring" viewBox="0 0 300 300" width="300" height="300" role="img" aria-label="ring"></svg>
<div id="legend"></div></section>
<section><h2>Handoffs</h2><table><thead><tr><th>partition</th><th>from</th><th>state</th><th>progress</th><th>keys</th></tr></thead>
<tbody id="transfers"></tbody></table><p id="notransfers" class="muted">none in progress</p></section>
<section><h2>Hints pending</h2><table><tbody id="hints"></tbody></table><p id="nohints" class="muted">none</p>
<h2 style="margin-top:14px">Rates</h2>
<div>commands/s <b id="rate">–</b></div><svg id="ratechart" viewBox="0 0 300 50" width="300" height="50"></svg>
<div>p99 GET <b id="p99get">–</b> · SET <b id="p99set">–</b></div><svg id="p99chart" viewBox="0 0 300 50" width="300" height="50"></svg>
</section>
</main>
<script>
"use strict";
const palette=["#3b7ddd","#e8804a","#2e9d5b","#9b59b6","#d8b31a","#17a2b8","#c63d3d","#6c757d","#e83e8c","#20c997","#795548","#343a40"];
const color=i=>i<0?"#ccc":palette[i%palette.length];
const el=id=>document.getElementById(id);
const esc=s=>String(s).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
let prev=null, polls=0; const rates=[], p99s=[];
function p99(bounds, now, before){
  if(!now||!before) return null;
  const d=now.map((v,i)=>v-(before[i]||0)), total=d[d.length-1];
  if(total<=0) return null;
  for(let i=0;i<d.length;i++) if(d[i]>=0.99*total) return i<bounds.length?bounds[i]:Infinity;
  return null;
}
function fmtSec(s){ if(s===null) return "–"; if(s===Infinity) return ">10 s"; return s<0.001?(s*1e6).toFixed(0)+" µs":s<1?(s*1000).toFixed(s<0.01?2:1)+" ms":s.toFixed(1)+" s"; }
function spark(svg, values){
  const v=values.slice(-60), max=Math.max(1e-9,...v.filter(x=>x!==null&&isFinite(x)));
  const pts=v.map((x,i)=>`${(i*300/59).toFixed(1)},${(48-(x===null||!isFinite(x)?0:x)/max*44).toFixed(1)}`).join(" ");
  svg.innerHTML=`<polyline fill="none" stroke="#3b7ddd" stroke-width="1.5" points="${pts}"/>`;
}
function drawRing(s){
  const svg=el("ring"), owners=s.owners||[], fut=s.future_owners, n=owners.length, nodes=s.ring_nodes||[];
  const down=new Set(s.members.filter(m=>m.status!=="alive").map(m=>m.id));
  if(!n){ svg.innerHTML='<text x="150" y="150" text-anchor="middle">no ring yet</text>'; return; }
  const arc=(r0,r1,a0,a1)=>{const c=150,p=(r,a)=>`${(c+r*Math.sin(a)).toFixed(2)},${(c-r*Math.cos(a)).toFixed(2)}`,l=(a1-a0)>Math.PI?1:0;
    return `M${p(r1,a0)}A${r1},${r1} 0 ${l} 1 ${p(r1,a1)}L${p(r0,a1)}A${r0},${r0} 0 ${l} 0 ${p(r0,a0)}Z`;};
  let out="";
  for(let i=0;i<n;i++){const a0=i/n*2*Math.PI,a1=(i+1)/n*2*Math.PI;
    out+=`<path class="partition" data-partition="${i}" data-owner="${esc(nodes[owners[i]]||"")}" d="${arc(100,140,a0,a1)}" fill="${color(owners[i])}"${down.has(nodes[owners[i]])?' fill-opacity="0.3"':""}><title>partition ${i}: ${esc(nodes[owners[i]]||"?")}</title></path>`;
    if(fut&&fut[i]!==owners[i]) out+=`<path class="moving" d="${arc(80,97,a0,a1)}" fill="${color(fut[i])}"/>`;}
  out+=`<text x="150" y="146" text-anchor="middle">${n} partitions</text><text x="150" y="162" text-anchor="middle">ring v${s.ring_version}${s.transferring?" (moving)":""}</text>`;
  svg.innerHTML=out;
  el("legend").innerHTML=nodes.map((id,i)=>`<span style="margin-right:12px"><span class="swatch" style="background:${color(i)}"></span>${esc(id)}</span>`).join("");
}
function render(s){
  el("node").textContent=`node ${s.node} · v${s.version}`;
  el("ringv").textContent=`ring v${s.ring_version}, ${s.partitions} partitions`;
  el("uptime").textContent=`up ${s.uptime_seconds} s`;
  el("warnings").innerHTML=(s.warnings||[]).map(w=>`<li>⚠ ${esc(w)}</li>`).join("");
  el("members").innerHTML=s.members.map(m=>`<tr class="member" data-id="${esc(m.id)}" data-status="${esc(m.status)}"><td>${esc(m.id)}</td><td><span class="st ${esc(m.status)}">${esc(m.status)}</span></td><td>${esc(m.admin)}</td><td>${m.partitions}</td><td>${m.incarnation}</td><td>${esc(m.client)}</td></tr>`).join("");
  drawRing(s);
  const active=(s.transfers||[]).filter(t=>t.state!=="done");
  el("transfers").innerHTML=active.map(t=>`<tr class="transfer" data-state="${esc(t.state)}"><td>${t.partition} ${esc(t.namespace)}</td><td>${esc(t.from)}</td><td>${esc(t.state)}</td><td><div class="bar"><div style="width:${(t.progress*100).toFixed(1)}%"></div></div></td><td>${t.keys}</td></tr>`).join("");
  el("notransfers").style.display=active.length?"none":"";
  const hints=Object.entries(s.hints||{});
  el("hints").innerHTML=hints.map(([t,n])=>`<tr class="hint"><td>${esc(t)}</td><td>${n}</td></tr>`).join("");
  el("nohints").style.display=hints.length?"none":"";
  const now=Date.now();
  if(prev){ const dt=(now-prev.at)/1000;
    if(dt>0){ const r=(s.commands.answered-prev.s.commands.answered)/dt; rates.push(r); el("rate").textContent=r.toFixed(0); spark(el("ratechart"),rates);
      const g=p99(s.latency.bounds,s.latency.get,prev.s.latency.get), w=p99(s.latency.bounds,s.latency.set,prev.s.latency.set);
      el("p99get").textContent=fmtSec(g); el("p99set").textContent=fmtSec(w); p99s.push(Math.max(g===null||!isFinite(g)?0:g,w===null||!isFinite(w)?0:w)); spark(el("p99chart"),p99s);} }
  prev={s,at:now};
}
async function poll(){
  try{ const r=await fetch("/status",{cache:"no-store"}); render(await r.json()); polls++;
    el("updated").textContent="updated "+new Date().toLocaleTimeString(); el("updated").dataset.polls=polls; }
  catch(e){ el("updated").textContent="peer not answering: "+e; }
  setTimeout(poll,1000);
}
poll();
</script></body></html>
"""#
}
