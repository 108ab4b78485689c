"""Traditional Chinese characters of outage notices (Big5 mail from Hong Kong and Taiwan) read as
simplified ones, one character for one, so that offsets into the text stay valid. Pure."""

from __future__ import annotations

_PAIRS = (
    "機机 維维 護护 時时 間间 於于 將将 統统 點点 後后 週周 務务 暫暂 斷断 級级 線线 網网 銀银 臺台 關关 閉闭 "
    "復复 變变 調调 遲迟 稅税 電电 開开 結结 當当 淩凌 號号 區区 東东 準准 國国 這这 個个 禮礼 僅仅 響响 單单 "
    "據据 應应 選选 課课 與与 為为 並并 來来 內内 對对 門门 戶户 資资 訊讯 數数 庫库 雲云 過过 進进 運运 "
    "維维 護护 停停 啟启 動动 級级 畫划 劃划 預预 計计 則则 務务 業业 處处 舉举 辦办 證证 發发 票票 "
    "卡卡 帳账 戶户 轉转 匯汇 兌兑 續续 費费 額额 請请 於于 們们 謝谢 諒谅 詢询 話话 熱热 員员 門门 "
    "廳厅 歷历 顯显 無无 法法 連连 接接 訪访 問问 絡络 統统 權权 約约 傳传 輸输 類类 項项 種种 "
    "臨临 時时 長长 晚晚 夜夜 週周 晝昼 後后 節节 殘残 錯错 誤误 將将 舊旧 新新 原原 訂订 現现 "
    "改改 為为 延延 期期 取取 消消 經经 歲岁 執执 況况 災灾 緊紧 急急 確确 認认 協协 備备 份份 "
    "準准 贈赠 閱阅 覽览 館馆 圖图 書书 學学 術术 校校 園园 網网 絡络 郵邮 箱箱 陸陆 證证 碼码 "
    "屆届 須须 閘闸 鐘钟 監监 測测 試试 驗验 階阶 段段 批批 輪轮 體体 係系 統统"
)
TABLE = str.maketrans({pair[0]: pair[1] for pair in _PAIRS.split() if pair[0] != pair[1]})
