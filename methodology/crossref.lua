-- Quarto-style cross-references for the pandoc + typst fallback renderer of the PMM paper.
--
-- Quarto numbers figures ({#fig-x}) and tables ({#tbl-x}) and resolves @fig-x / @tbl-x itself;
-- pandoc parses @fig-x as a citation. This filter, run before citeproc, does what Quarto does on
-- the pandoc AST (no text rewriting): figures and tables are numbered separately in document
-- order, their captions start with "Figure N:" / "Table N:", and a citation of such a label
-- becomes a link "Figure N" to it. A reference to a label that is not in the document is an
-- error, so the paper cannot ship a raw label.

local numbers = {}
local counts = { fig = 0, tbl = 0 }
local words = { fig = "Figure", tbl = "Table" }

local function kind_of(id)
  if id == nil then return nil end
  return id:match("^(fig)%-") or id:match("^(tbl)%-")
end

local function prefix_caption(caption, label)
  local lead = { pandoc.Str(label .. ":"), pandoc.Space() }
  local blocks = caption.long
  if #blocks == 0 then
    caption.long = { pandoc.Plain(lead) }
  else
    local first = blocks[1]
    if first.t == "Plain" or first.t == "Para" then
      local inl = pandoc.List(lead)
      inl:extend(first.content)
      first.content = inl
      blocks[1] = first
    end
    caption.long = blocks
  end
  return caption
end

local function number(el, kind)
  local id = el.identifier or (el.attr and el.attr.identifier)
  if kind_of(id) ~= kind then return nil end
  if numbers[id] == nil then
    counts[kind] = counts[kind] + 1
    numbers[id] = words[kind] .. " " .. counts[kind]
  end
  el.caption = prefix_caption(el.caption, numbers[id])
  return el
end

local function resolve(cite)
  local out = pandoc.List()
  local rest = pandoc.List()
  for _, c in ipairs(cite.citations) do
    local kind = kind_of(c.id)
    if kind then
      if numbers[c.id] == nil then
        error("cross-reference to '" .. c.id .. "', which is not in the document")
      end
      if #out > 0 then out:insert(pandoc.Str(", ")) end
      out:insert(pandoc.Link(numbers[c.id], "#" .. c.id))
    else
      rest:insert(c)
    end
  end
  if #out == 0 then return nil end
  if #rest > 0 then
    out:insert(pandoc.Space())
    out:insert(pandoc.Cite({ pandoc.Str("") }, rest))
  end
  return out
end

-- Blocks are visited once, depth-first in document order, so numbering follows the document.
return {
  { Figure = function(el) return number(el, "fig") end,
    Table = function(el) return number(el, "tbl") end },
  { Cite = resolve },
}
